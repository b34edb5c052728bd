//! The shared handle namespace of users and organizations.

use sqlx::{Any, Transaction};

use crate::auth::HandleError;
use crate::error::ApiError;

#[derive(Debug, Clone, Copy)]
pub enum OwnerKind {
    User,
    Organization,
}

impl OwnerKind {
    fn as_str(self) -> &'static str {
        match self {
            OwnerKind::User => "user",
            OwnerKind::Organization => "organization",
        }
    }
}

/// Claims `handle` for an owner inside `tx`; fails with `HANDLE_TAKEN` if anyone has it.
pub async fn claim(
    tx: &mut Transaction<'_, Any>,
    handle: &str,
    kind: OwnerKind,
    owner_id: &str,
) -> Result<(), ApiError> {
    let result =
        sqlx::query("INSERT INTO handles (handle, owner_kind, owner_id) VALUES ($1, $2, $3)")
            .bind(handle)
            .bind(kind.as_str())
            .bind(owner_id)
            .execute(&mut **tx)
            .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if super::is_unique_violation(&e) => {
            Err(HandleError::Taken(handle.to_owned()).into())
        }
        Err(e) => Err(super::StoreError::from(e).into()),
    }
}

pub async fn release(tx: &mut Transaction<'_, Any>, handle: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM handles WHERE handle = $1")
        .bind(handle)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[derive(sqlx::FromRow, Debug, Clone)]
pub struct SqlHandle {
    pub handle: String,
    pub owner_kind: String,
    pub owner_id: String,
}

pub async fn all(pool: &sqlx::AnyPool) -> Result<Vec<SqlHandle>, sqlx::Error> {
    sqlx::query_as::<_, SqlHandle>("SELECT handle, owner_kind, owner_id FROM handles")
        .fetch_all(pool)
        .await
}
