//! What the operator commands work with: the store, the master key, the settings and the
//! keyring as it is. Opening it never creates, rotates or deletes a signing key (only the
//! server's schedule and `tessera keys` do that).

use std::sync::Arc;

use super::output::fail;
use crate::app::{master_key, open_store};
use crate::backchannel::Backchannel;
use crate::clock::Clock;
use crate::config::Config;
use crate::core::rotation::{Keys, schedule};
use crate::core::{Ctx, Policy};
use crate::keys::{Keyring, MasterKey, Schedule};
use crate::offload::BlockingPool;
use crate::store::Store;

pub struct Operator {
    pub config: Config,
    pub policy: Policy,
    pub store: Store,
    pub master: MasterKey,
    pub schedule: Schedule,
    /// Signs logout tokens when a command ends sessions; clients are told before it exits.
    pub notifier: Backchannel,
    pub offload: BlockingPool,
    keyring: Arc<Keyring>,
}

impl Operator {
    pub async fn open(config: Config) -> Result<Self, String> {
        let store = open_store(&config).await.map_err(fail)?;
        let master = master_key(&config).map_err(fail)?;
        let policy = config.policy();
        let schedule = schedule(&store, &policy, &config.rotation())
            .await
            .map_err(fail)?;
        let mut operator = Self {
            notifier: Backchannel::waiting().map_err(fail)?,
            offload: crate::app::cpu_pool(&config),
            keyring: Arc::new(Keyring::new(Vec::new())),
            config,
            policy,
            store,
            master,
            schedule,
        };
        let now = operator.now();
        let keyring = operator
            .keys()
            .read_keyring(&operator.schedule, None, now)
            .await
            .map_err(fail)?;
        operator.keyring = Arc::new(keyring);
        Ok(operator)
    }

    pub fn now(&self) -> i64 {
        Clock::System.now()
    }

    pub fn ctx(&self) -> Ctx<'_, Store> {
        let now_ms = Clock::System.now_ms();
        Ctx {
            store: &self.store,
            policy: &self.policy,
            keys: self.keyring.clone(),
            secrets: &self.master,
            now: now_ms.div_euclid(1000),
            now_ms,
        }
    }

    pub fn keys(&self) -> Keys<'_, Store, BlockingPool> {
        Keys {
            repo: &self.store,
            master: &self.master,
            offload: &self.offload,
            rotation: self.config.rotation(),
        }
    }
}
