//! `connectors.toml`: types, parsing, and validation with `file:line:column` problems.

pub mod credential;
pub mod de;
pub mod duration;
pub mod jsonpath;
mod load;
pub mod model;
pub mod problem;
pub mod schedule;
pub mod template;
pub mod url;

pub use load::Config;
pub use model::{
    ApiKeyLocation, Auth, CatchUp, Integration, RateLimit, Retention, RetryPolicy, Settings,
    Timezone,
};
pub use problem::{Problem, Severity, SourceFile};
pub use schedule::Schedule;
