//! The table of per-integration state (`domain::IntegrationState`), one row per integration.

use super::schema::INTEGRATION_STATE;
use super::{Result, Store, decode, encode};
use crate::domain::IntegrationState;

impl Store {
    pub fn integration_state(&self, name: &str) -> Result<IntegrationState> {
        let txn = self.read()?;
        let table = txn.open_table(INTEGRATION_STATE)?;
        Ok(match table.get(name)? {
            Some(bytes) => decode(bytes.value(), || format!("state of integration {name}"))?,
            None => IntegrationState::default(),
        })
    }

    pub fn put_integration_state(&self, name: &str, state: &IntegrationState) -> Result<()> {
        self.write(|txn| {
            txn.open_table(INTEGRATION_STATE)?
                .insert(name, encode(state).as_slice())?;
            Ok(())
        })
    }
}
