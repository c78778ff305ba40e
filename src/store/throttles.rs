//! Counters of failed guesses (see `core::throttle` for the rules).

use sea_orm::sea_query::OnConflict;
use sea_orm::{EntityTrait, Set};

use super::Store;
use super::Unique;
use super::entities::throttle;
use crate::core::error::StoreError;
use crate::core::model::Failures;
use crate::core::ports::ThrottleRepo;

impl ThrottleRepo for Store {
    async fn failures(&self, key: &str) -> Result<Option<Failures>, StoreError> {
        let load = async {
            let row = throttle::Entity::find_by_id(key).unique(&self.db).await?;
            Ok(row.map(|r| Failures {
                count: r.failures,
                window_start: r.window_start,
                locked_until: r.locked_until,
            }))
        };
        self.cached(|c| &c.throttles, key, load).await
    }

    async fn save_failures(&self, key: &str, f: &Failures) -> Result<(), StoreError> {
        let row = throttle::ActiveModel {
            key: Set(key.to_owned()),
            failures: Set(f.count),
            window_start: Set(f.window_start),
            locked_until: Set(f.locked_until),
        };
        throttle::Entity::insert(row)
            .on_conflict(
                OnConflict::column(throttle::Column::Key)
                    .update_columns([
                        throttle::Column::Failures,
                        throttle::Column::WindowStart,
                        throttle::Column::LockedUntil,
                    ])
                    .to_owned(),
            )
            .exec(&self.writer)
            .await?;
        self.remember_failures(key, Some(*f));
        Ok(())
    }

    async fn clear_failures(&self, key: &str) -> Result<(), StoreError> {
        throttle::Entity::delete_by_id(key)
            .exec(&self.writer)
            .await?;
        self.remember_failures(key, None);
        Ok(())
    }
}

impl Store {
    fn remember_failures(&self, key: &str, failures: Option<Failures>) {
        if let Some(caches) = &self.caches {
            caches.throttles.put(key.to_owned(), failures);
        }
    }
}
