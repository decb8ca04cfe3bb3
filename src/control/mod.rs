//! The control plane: one typed protocol through which the console and the CLI use an
//! engine, whether it runs in this process or in `patchbay headless` behind its Unix
//! socket. The service side (`server`, `metrics`) and the client side (`client`) meet
//! in `protocol`; `Hub` hides which one a caller has.

mod access;
mod answer;
mod brief;
mod client;
mod feed;
mod hub;
pub mod metrics;
pub mod protocol;
pub mod server;
pub mod status;

pub use access::Viewers;
pub use answer::Process;
pub use brief::IntegrationBrief;
pub use client::AttachError;
pub use feed::{Feed, Published};
pub use hub::{Hub, Origin};
pub use protocol::{Event, socket_path};
