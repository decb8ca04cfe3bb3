//! An audit entry: an operator action, who did it, and when.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    /// `$USER`, plus the SSH client address when the operator came in over SSH.
    pub who: String,
    /// What was done, e.g. `secret.set`, `run.manual`, `integration.pause`.
    pub action: String,
    /// What it was done to: an integration or a secret name (never a secret value).
    pub target: Option<String>,
    pub detail: Option<String>,
}

impl AuditEntry {
    /// An action of this process's own user.
    pub fn now(action: &str, target: Option<&str>) -> Self {
        Self::by(&Operator::this_process(), action, target)
    }

    /// An action of `operator`: a console or CLI attached to the service acts for the
    /// user on the other end of the socket, not for the service's own user.
    pub fn by(operator: &Operator, action: &str, target: Option<&str>) -> Self {
        Self {
            at: Utc::now(),
            who: operator.to_string(),
            action: action.to_owned(),
            target: target.map(str::to_owned),
            detail: None,
        }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

/// Who is acting: an OS user, the process they act from, and the SSH connection they
/// came in on (as `SSH_CONNECTION` gives it: client address and port, server address
/// and port).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operator {
    pub user: String,
    pub pid: Option<u32>,
    pub ssh_connection: Option<String>,
}

impl Operator {
    /// This process: `$USER` (or `$LOGNAME`) and `$SSH_CONNECTION`.
    pub fn this_process() -> Self {
        Self {
            // The kernel's word, as the service takes it from a socket's peer; `$USER`
            // is unset under cron, systemd and `su`, and says whatever it is set to.
            user: user_name(nix::unistd::getuid().as_raw()),
            pid: Some(std::process::id()),
            ssh_connection: ssh_connection(),
        }
    }
}

/// The user's name, or `uid 1234` for a uid without a passwd entry.
pub fn user_name(uid: u32) -> String {
    match nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) {
        Ok(Some(user)) => user.name,
        _ => format!("uid {uid}"),
    }
}

/// `$SSH_CONNECTION` when this process runs in an SSH session.
pub fn ssh_connection() -> Option<String> {
    std::env::var("SSH_CONNECTION")
        .ok()
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty())
}

/// `alice (pid 4121, ssh 10.0.0.5 52144 10.0.0.1 22)`: what the audit log says.
impl std::fmt::Display for Operator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.user)?;
        match (self.pid, &self.ssh_connection) {
            (Some(pid), Some(ssh)) => write!(f, " (pid {pid}, ssh {ssh})"),
            (Some(pid), None) => write!(f, " (pid {pid})"),
            (None, Some(ssh)) => write!(f, " (ssh {ssh})"),
            (None, None) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operator_reads_as_user_pid_and_ssh_connection() {
        let operator = Operator {
            user: "alice".into(),
            pid: Some(4121),
            ssh_connection: Some("10.0.0.5 52144 10.0.0.1 22".into()),
        };
        assert_eq!(
            operator.to_string(),
            "alice (pid 4121, ssh 10.0.0.5 52144 10.0.0.1 22)"
        );
        let local = Operator {
            ssh_connection: None,
            ..operator
        };
        assert_eq!(local.to_string(), "alice (pid 4121)");
    }
}
