//! Rows of `users`. `SqlUser` holds the password hash, so it is neither `Serialize` nor
//! `Debug`; the UI sees [`app::dto::UserDto`].

use sqlx::{Any, AnyPool, FromRow, Transaction};

use super::Flag;
use crate::clock::rfc3339;
use app::dto::UserDto;

#[derive(FromRow, Clone)]
pub struct SqlUser {
    pub id: String,
    pub email: String,
    pub handle: String,
    pub password_hash: String,
    #[sqlx(try_from = "i64")]
    pub is_admin: Flag,
    pub failed_logins: i64,
    pub locked_until: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Sessions signed in before this (epoch ms) are ended (set on a password change).
    pub sessions_valid_after: i64,
}

impl SqlUser {
    pub fn into_dto(self) -> UserDto {
        UserDto {
            id: self.id,
            email: self.email,
            handle: self.handle,
            is_admin: self.is_admin.0,
            created_at: rfc3339(self.created_at),
        }
    }
}

/// The columns of `SqlUser`, as a literal so queries stay compile-time constants.
macro_rules! user_columns {
    () => {
        "id, email, handle, password_hash, is_admin, failed_logins, locked_until, created_at, updated_at, \
         sessions_valid_after"
    };
}

pub async fn insert(tx: &mut Transaction<'_, Any>, user: &SqlUser) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO users (id, email, handle, password_hash, is_admin, failed_logins, locked_until, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&user.id)
    .bind(&user.email)
    .bind(&user.handle)
    .bind(&user.password_hash)
    .bind(i64::from(user.is_admin))
    .bind(user.failed_logins)
    .bind(user.locked_until)
    .bind(user.created_at)
    .bind(user.updated_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn count(tx: &mut Transaction<'_, Any>) -> Result<i64, sqlx::Error> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users")
        .fetch_one(&mut **tx)
        .await?;
    Ok(n)
}

/// Every account, oldest first (for platform admins).
pub async fn list_all(pool: &AnyPool) -> Result<Vec<SqlUser>, sqlx::Error> {
    sqlx::query_as::<_, SqlUser>(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users ORDER BY created_at, id LIMIT 5000"
    ))
    .fetch_all(pool)
    .await
}

pub async fn find_by_email(pool: &AnyPool, email: &str) -> Result<Option<SqlUser>, sqlx::Error> {
    sqlx::query_as::<_, SqlUser>(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE email = $1"
    ))
    .bind(email)
    .fetch_optional(pool)
    .await
}

pub async fn find_by_id(pool: &AnyPool, id: &str) -> Result<Option<SqlUser>, sqlx::Error> {
    sqlx::query_as::<_, SqlUser>(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
}

pub async fn set_handle(
    tx: &mut Transaction<'_, Any>,
    id: &str,
    handle: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET handle = $1, updated_at = $2 WHERE id = $3")
        .bind(handle)
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn set_password(
    pool: &AnyPool,
    id: &str,
    hash: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE users SET password_hash = $1, updated_at = $2, sessions_valid_after = $2 WHERE id = $3",
    )
        .bind(hash)
        .bind(now)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}
