//! Rows of `signup_invites` and `setup_tokens`: digests only, never the tokens.

use sqlx::{Any, AnyPool, FromRow, Transaction};

#[derive(FromRow, Debug, Clone)]
pub struct SqlSignupInvite {
    pub id: String,
    pub note: String,
    pub created_by: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    /// The email of the account made with it.
    pub used_by: Option<String>,
}

pub async fn insert_invite(
    pool: &AnyPool,
    invite: &SqlSignupInvite,
    digest: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO signup_invites (id, digest, note, created_by, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&invite.id)
    .bind(digest)
    .bind(&invite.note)
    .bind(&invite.created_by)
    .bind(invite.created_at)
    .bind(invite.expires_at)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn list_invites(pool: &AnyPool) -> Result<Vec<SqlSignupInvite>, sqlx::Error> {
    sqlx::query_as::<_, SqlSignupInvite>(
        "SELECT id, note, created_by, created_at, expires_at, used_at, used_by \
         FROM signup_invites ORDER BY created_at DESC, id LIMIT 500",
    )
    .fetch_all(pool)
    .await
}

/// Deletes an invite that has not been used; returns whether one was.
pub async fn delete_unused_invite(pool: &AnyPool, id: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM signup_invites WHERE id = $1 AND used_at IS NULL")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks the invite with this digest used by `email`, if it is unused and unexpired;
/// returns whether it was. In the sign-up's transaction, so a failed sign-up keeps it.
pub async fn consume_invite(
    tx: &mut Transaction<'_, Any>,
    digest: &str,
    email: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE signup_invites SET used_at = $1, used_by = $2 \
         WHERE digest = $3 AND used_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(email)
    .bind(digest)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn insert_setup_token(pool: &AnyPool, digest: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO setup_tokens (digest, created_at) VALUES ($1, $2)")
        .bind(digest)
        .bind(now)
        .execute(pool)
        .await?;
    Ok(())
}

/// Spends a setup token: if this digest is one, every setup token is deleted (the first
/// account exists now). Returns whether it was one.
pub async fn consume_setup_token(
    tx: &mut Transaction<'_, Any>,
    digest: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM setup_tokens WHERE digest = $1")
        .bind(digest)
        .execute(&mut **tx)
        .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query("DELETE FROM setup_tokens")
        .execute(&mut **tx)
        .await?;
    Ok(true)
}

pub async fn user_count(pool: &AnyPool) -> Result<i64, sqlx::Error> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users")
        .fetch_one(pool)
        .await?;
    Ok(n)
}
