//! Who is on the other end of the socket, and what they may do. The OS user comes from
//! the socket's peer credentials (the kernel's word, not the client's); viewers named
//! in `settings.viewers` only look, whatever their client asks.

use nix::unistd::{Gid, Group};
use tokio::net::UnixStream;

use crate::domain::audit::user_name;

/// The process that connected.
#[derive(Debug, Clone)]
pub struct Peer {
    pub user: String,
    pub uid: u32,
    pub gid: u32,
    pub pid: Option<u32>,
}

impl Peer {
    pub fn of(stream: &UnixStream) -> std::io::Result<Self> {
        let cred = stream.peer_cred()?;
        Ok(Self {
            user: user_name(cred.uid()),
            uid: cred.uid(),
            gid: cred.gid(),
            pid: cred.pid().and_then(|p| u32::try_from(p).ok()),
        })
    }
}

/// `settings.viewers`: users by name, groups as `group:NAME`.
#[derive(Debug, Clone, Default)]
pub struct Viewers(Vec<String>);

impl Viewers {
    pub fn new(entries: &[String]) -> Self {
        Self(entries.to_vec())
    }

    pub fn include(&self, peer: &Peer) -> bool {
        self.0
            .iter()
            .any(|entry| match entry.strip_prefix("group:") {
                Some(group) => in_group(peer, group),
                None => *entry == peer.user,
            })
    }
}

fn in_group(peer: &Peer, name: &str) -> bool {
    match Group::from_name(name) {
        Ok(Some(group)) => group.gid == Gid::from_raw(peer.gid) || group.mem.contains(&peer.user),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn me() -> Peer {
        let uid = nix::unistd::getuid().as_raw();
        let gid = nix::unistd::getgid().as_raw();
        Peer {
            user: user_name(uid),
            uid,
            gid,
            pid: None,
        }
    }

    #[test]
    fn viewers_name_users_and_groups() {
        let peer = me();
        let primary = Group::from_gid(Gid::from_raw(peer.gid))
            .unwrap()
            .expect("the test user's primary group exists")
            .name;
        assert!(Viewers::new(std::slice::from_ref(&peer.user)).include(&peer));
        assert!(Viewers::new(&[format!("group:{primary}")]).include(&peer));
        assert!(
            !Viewers::new(&["someone-else".into(), "group:no-such-group".into()]).include(&peer)
        );
        assert!(!Viewers::default().include(&peer));
    }
}
