//! The domain's enums as the store keeps them: their names in TEXT columns (`approvals.state`,
//! `approvals.factor`, `sessions.revoked_by`), so the SQL and the stored text stay what they
//! were. A row is parsed as it is read, on every backend: a name nod does not know fails the
//! read with the column and the text it held, instead of travelling upward as a string.

use sqlx::decode::Decode;
use sqlx::error::BoxDynError;
use sqlx::{Database, Type};

use crate::domain::{ApprovalState, Factor, RevokedBy};

/// Lets sqlx read `$type` from a TEXT column of any backend, parsing it with `$parse`
/// (`fn(&str) -> Option<$type>`); the error names `$column` and says it should hold `$what`.
macro_rules! stored_as_text {
    ($type:ty, $column:literal, $what:literal, $parse:expr) => {
        impl<DB: Database> Type<DB> for $type
        where
            str: Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <str as Type<DB>>::type_info()
            }

            fn compatible(ty: &DB::TypeInfo) -> bool {
                <str as Type<DB>>::compatible(ty)
            }
        }

        impl<'r, DB: Database> Decode<'r, DB> for $type
        where
            &'r str: Decode<'r, DB>,
        {
            fn decode(value: DB::ValueRef<'r>) -> Result<Self, BoxDynError> {
                let text = <&str as Decode<DB>>::decode(value)?;
                let parse: fn(&str) -> Option<$type> = $parse;
                parse(text).ok_or_else(|| {
                    format!("{} holds {text:?}, which is not {}", $column, $what).into()
                })
            }
        }
    };
}

stored_as_text!(
    ApprovalState,
    "approvals.state",
    "an approval state",
    ApprovalState::parse
);
stored_as_text!(Factor, "approvals.factor", "a factor", Factor::parse);
// Never fails: any text that is not one of the words is the id of the device that revoked.
stored_as_text!(RevokedBy, "sessions.revoked_by", "who revoked", |text| {
    Some(RevokedBy::parse(text))
});

#[cfg(test)]
mod tests {
    use sqlx::sqlite::SqlitePool;

    use super::*;

    async fn memory() -> SqlitePool {
        SqlitePool::connect("sqlite::memory:")
            .await
            .expect("in-memory SQLite")
    }

    #[tokio::test]
    async fn stored_names_read_back_as_the_enums() {
        let pool = memory().await;
        let (state, factor, by): (ApprovalState, Factor, Option<RevokedBy>) =
            sqlx::query_as("SELECT 'redeemed', 'otp', 'refresh_reuse'")
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(state, ApprovalState::Redeemed);
        assert_eq!(factor, Factor::Otp);
        assert_eq!(by, Some(RevokedBy::RefreshReuse));
        let by: Option<RevokedBy> = sqlx::query_scalar("SELECT NULL")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(by, None);
    }

    #[tokio::test]
    async fn an_unknown_name_fails_the_read_naming_column_and_text() {
        let pool = memory().await;
        let err = sqlx::query_scalar::<_, ApprovalState>("SELECT 'approvedd' AS state")
            .fetch_one(&pool)
            .await
            .expect_err("not a state");
        let shown = err.to_string();
        assert!(
            shown.contains("approvals.state holds \"approvedd\", which is not an approval state"),
            "{shown}"
        );
        let err = sqlx::query_scalar::<_, Factor>("SELECT 'sms'")
            .fetch_one(&pool)
            .await
            .expect_err("not a factor");
        assert!(
            err.to_string()
                .contains("approvals.factor holds \"sms\", which is not a factor"),
            "{err}"
        );
    }
}
