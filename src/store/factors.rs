//! Second factors: TOTP factors, passkeys and recovery codes.

use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, Condition, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
    TransactionTrait,
};

use super::Store;
use super::Unique;
use super::entities::{passkey, recovery_code, totp_factor};
use crate::core::error::StoreError;
use crate::core::model::{PasskeyFactor, TotpFactor};
use crate::core::ports::FactorRepo;

impl FactorRepo for Store {
    async fn totp(&self, user_id: &str) -> Result<Option<TotpFactor>, StoreError> {
        let row = totp_factor::Entity::find_by_id(user_id)
            .unique(&self.db)
            .await?;
        Ok(row.map(|r| TotpFactor {
            user_id: r.user_id,
            secret_sealed: r.secret_sealed,
            confirmed_at: r.confirmed_at,
            last_step: r.last_step,
            created_at: r.created_at,
        }))
    }

    async fn put_totp(&self, f: &TotpFactor) -> Result<(), StoreError> {
        let row = totp_factor::ActiveModel {
            user_id: Set(f.user_id.clone()),
            secret_sealed: Set(f.secret_sealed.clone()),
            confirmed_at: Set(f.confirmed_at),
            last_step: Set(f.last_step),
            created_at: Set(f.created_at),
        };
        let replace = OnConflict::column(totp_factor::Column::UserId)
            .update_columns([
                totp_factor::Column::SecretSealed,
                totp_factor::Column::ConfirmedAt,
                totp_factor::Column::LastStep,
                totp_factor::Column::CreatedAt,
            ])
            .to_owned();
        totp_factor::Entity::insert(row)
            .on_conflict(replace)
            .exec(&self.writer)
            .await?;
        Ok(())
    }

    async fn use_totp_step(
        &self,
        user_id: &str,
        step: i64,
        confirm_at: Option<i64>,
    ) -> Result<bool, StoreError> {
        let mut update = totp_factor::Entity::update_many()
            .col_expr(totp_factor::Column::LastStep, Expr::value(step));
        if let Some(at) = confirm_at {
            update = update.col_expr(totp_factor::Column::ConfirmedAt, Expr::value(at));
        }
        let result = update
            .filter(totp_factor::Column::UserId.eq(user_id))
            .filter(
                Condition::any()
                    .add(totp_factor::Column::LastStep.is_null())
                    .add(totp_factor::Column::LastStep.lt(step)),
            )
            .exec(&self.writer)
            .await?;
        Ok(result.rows_affected == 1)
    }

    async fn replace_recovery_codes(
        &self,
        user_id: &str,
        hashes: &[String],
        now: i64,
    ) -> Result<(), StoreError> {
        let replaced = super::with_retry(|| async {
            let txn = self.writer.begin().await?;
            recovery_code::Entity::delete_many()
                .filter(recovery_code::Column::UserId.eq(user_id))
                .exec(&txn)
                .await?;
            let rows = hashes.iter().map(|h| recovery_code::ActiveModel {
                user_id: Set(user_id.to_owned()),
                code_hash: Set(h.clone()),
                created_at: Set(now),
                used_at: Set(None),
            });
            if !hashes.is_empty() {
                recovery_code::Entity::insert_many(rows).exec(&txn).await?;
            }
            txn.commit().await
        })
        .await;
        replaced?;
        Ok(())
    }

    async fn use_recovery_code(
        &self,
        user_id: &str,
        hash: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let result = recovery_code::Entity::update_many()
            .col_expr(recovery_code::Column::UsedAt, Expr::value(now))
            .filter(recovery_code::Column::UserId.eq(user_id))
            .filter(recovery_code::Column::CodeHash.eq(hash))
            .filter(recovery_code::Column::UsedAt.is_null())
            .exec(&self.writer)
            .await?;
        Ok(result.rows_affected == 1)
    }

    async fn unused_recovery_codes(&self, user_id: &str) -> Result<usize, StoreError> {
        let count = recovery_code::Entity::find()
            .filter(recovery_code::Column::UserId.eq(user_id))
            .filter(recovery_code::Column::UsedAt.is_null())
            .count(&self.db)
            .await?;
        Ok(usize::try_from(count).unwrap_or(usize::MAX))
    }

    async fn delete_totp(&self, user_id: &str) -> Result<bool, StoreError> {
        let result = totp_factor::Entity::delete_by_id(user_id)
            .exec(&self.writer)
            .await?;
        Ok(result.rows_affected == 1)
    }

    async fn delete_factors(&self, user_id: &str) -> Result<(), StoreError> {
        totp_factor::Entity::delete_by_id(user_id)
            .exec(&self.writer)
            .await?;
        recovery_code::Entity::delete_many()
            .filter(recovery_code::Column::UserId.eq(user_id))
            .exec(&self.writer)
            .await?;
        passkey::Entity::delete_many()
            .filter(passkey::Column::UserId.eq(user_id))
            .exec(&self.writer)
            .await?;
        Ok(())
    }

    async fn passkeys(&self, user_id: &str) -> Result<Vec<PasskeyFactor>, StoreError> {
        let rows = passkey::Entity::find()
            .filter(passkey::Column::UserId.eq(user_id))
            .order_by_asc(passkey::Column::CreatedAt)
            .order_by_asc(passkey::Column::Id)
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(from_row).collect())
    }

    async fn passkey_by_credential(
        &self,
        credential_id: &str,
    ) -> Result<Option<PasskeyFactor>, StoreError> {
        let row = passkey::Entity::find()
            .filter(passkey::Column::CredentialId.eq(credential_id))
            .unique(&self.db)
            .await?;
        Ok(row.map(from_row))
    }

    async fn insert_passkey(&self, p: &PasskeyFactor) -> Result<bool, StoreError> {
        let row = passkey::ActiveModel {
            id: Set(p.id.clone()),
            user_id: Set(p.user_id.clone()),
            name: Set(p.name.clone()),
            credential_id: Set(p.credential_id.clone()),
            credential: Set(p.credential.clone()),
            backup_eligible: Set(p.backup_eligible),
            created_at: Set(p.created_at),
            last_used_at: Set(p.last_used_at),
        };
        let inserted = passkey::Entity::insert(row)
            .on_conflict(
                OnConflict::column(passkey::Column::CredentialId)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&self.writer)
            .await;
        match inserted {
            Ok(rows) => Ok(rows == 1),
            Err(DbErr::RecordNotInserted) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    async fn passkey_used(
        &self,
        id: &str,
        credential: &str,
        backup_eligible: bool,
        now: i64,
    ) -> Result<(), StoreError> {
        passkey::Entity::update_many()
            .col_expr(passkey::Column::Credential, Expr::value(credential))
            .col_expr(
                passkey::Column::BackupEligible,
                Expr::value(backup_eligible),
            )
            .col_expr(passkey::Column::LastUsedAt, Expr::value(now))
            .filter(passkey::Column::Id.eq(id))
            .exec(&self.writer)
            .await?;
        Ok(())
    }

    async fn delete_passkey(&self, user_id: &str, id: &str) -> Result<bool, StoreError> {
        let result = passkey::Entity::delete_many()
            .filter(passkey::Column::UserId.eq(user_id))
            .filter(passkey::Column::Id.eq(id))
            .exec(&self.writer)
            .await?;
        Ok(result.rows_affected == 1)
    }
}

fn from_row(r: passkey::Model) -> PasskeyFactor {
    PasskeyFactor {
        id: r.id,
        user_id: r.user_id,
        name: r.name,
        credential_id: r.credential_id,
        credential: r.credential,
        backup_eligible: r.backup_eligible,
        created_at: r.created_at,
        last_used_at: r.last_used_at,
    }
}
