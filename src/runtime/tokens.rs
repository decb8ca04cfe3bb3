//! OAuth2 access tokens in memory, by integration. The engine owns the cache; the
//! `oauth` connector code fills it and reads it (and backs it with the vault).

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

/// A token this close to its expiry is replaced before use.
const REFRESH_MARGIN: chrono::Duration = chrono::Duration::seconds(10);

#[derive(Clone)]
pub struct Token {
    pub access: SecretString,
    pub expires_at: Option<DateTime<Utc>>,
}

impl Token {
    pub fn fresh(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|at| at - REFRESH_MARGIN > now)
    }
}

/// Access tokens in memory, by integration; backed by the vault.
#[derive(Default)]
pub struct TokenCache {
    tokens: Mutex<HashMap<String, Token>>,
}

impl TokenCache {
    pub fn get(&self, name: &str) -> Option<Token> {
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    pub fn put(&self, name: &str, token: Token) {
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_owned(), token);
    }

    /// What the console may know about the integration's cached access token: when it
    /// expires, never the token. `None` when none is cached.
    pub fn peek(&self, name: &str) -> Option<AccessTokenInfo> {
        self.get(name).map(|token| AccessTokenInfo {
            expires_at: token.expires_at,
        })
    }

    pub fn invalidate(&self, name: &str) {
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
    }
}

/// A cached access token as the detail view shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenInfo {
    /// `None`: the server gave no lifetime.
    pub expires_at: Option<DateTime<Utc>>,
}
