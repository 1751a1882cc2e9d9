//! Users and sign-in: one identity per email address, compared without regard to case.

mod support;

use support::{fresh_store, test_settings, PASSWORD};
use tandem_app::AppError;
use tandem_domain::Role;

#[tokio::test]
async fn email_case_is_one_user() {
    let app = tandem::build_app(fresh_store().await, &test_settings());

    let first = app
        .ensure_user_with_role(
            "Aroha.Ngata@Example.com",
            "Aroha",
            PASSWORD,
            Role::PlatformAdministrator,
            None,
        )
        .await
        .unwrap();
    let second = app
        .ensure_user_with_role(
            "aroha.ngata@example.COM",
            "Aroha",
            PASSWORD,
            Role::PlatformAdministrator,
            None,
        )
        .await
        .unwrap();

    assert_eq!(first, second);
    let mut conn = app.store().conn().await.unwrap();
    let user = tandem_store::users::get(&mut conn, &first)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.email, "Aroha.Ngata@Example.com");
}

#[tokio::test]
async fn sign_in_with_any_case() {
    let app = tandem::build_app(fresh_store().await, &test_settings());
    app.ensure_user_with_role(
        "Aroha@Example.com",
        "Aroha",
        PASSWORD,
        Role::PlatformAdministrator,
        None,
    )
    .await
    .unwrap();

    let session = app.sign_in("AROHA@example.com", PASSWORD, None).await;

    assert!(session.is_ok());
}

#[tokio::test]
async fn sign_in_wrong_password_and_unknown_email_alike() {
    let app = tandem::build_app(fresh_store().await, &test_settings());
    app.ensure_user_with_role(
        "aroha@example.com",
        "Aroha",
        PASSWORD,
        Role::PlatformAdministrator,
        None,
    )
    .await
    .unwrap();

    let wrong = app
        .sign_in("aroha@example.com", "not the password", None)
        .await;
    let unknown = app.sign_in("nobody@example.com", PASSWORD, None).await;

    assert!(matches!(wrong, Err(AppError::Unauthenticated)));
    assert!(matches!(unknown, Err(AppError::Unauthenticated)));
}

#[tokio::test]
async fn each_sign_in_gets_new_session() {
    let app = tandem::build_app(fresh_store().await, &test_settings());
    app.ensure_user_with_role(
        "aroha@example.com",
        "Aroha",
        PASSWORD,
        Role::PlatformAdministrator,
        None,
    )
    .await
    .unwrap();

    let first = app
        .sign_in("aroha@example.com", PASSWORD, None)
        .await
        .unwrap();
    let second = app
        .sign_in("aroha@example.com", PASSWORD, None)
        .await
        .unwrap();
    app.sign_out(&first.token).await.unwrap();

    assert_ne!(first.token, second.token);
    assert!(app.session(&first.token, None).await.unwrap().is_none());
    assert!(app.session(&second.token, None).await.unwrap().is_some());
}

#[tokio::test]
async fn short_password_rejected() {
    let app = tandem::build_app(fresh_store().await, &test_settings());

    let result = app
        .ensure_user_with_role(
            "aroha@example.com",
            "Aroha",
            "short",
            Role::PlatformAdministrator,
            None,
        )
        .await;

    assert!(matches!(result, Err(AppError::Invalid(ref fields)) if fields[0].field == "password"));
}

#[tokio::test]
async fn sign_in_records_last_sign_in() {
    let app = tandem::build_app(fresh_store().await, &test_settings());
    let user_id = app
        .ensure_user_with_role(
            "aroha@example.com",
            "Aroha",
            PASSWORD,
            Role::PlatformAdministrator,
            None,
        )
        .await
        .unwrap();
    let mut conn = app.store().conn().await.unwrap();
    let before = tandem_store::users::get(&mut conn, &user_id)
        .await
        .unwrap()
        .unwrap();
    drop(conn);

    let session = app
        .sign_in("aroha@example.com", PASSWORD, None)
        .await
        .unwrap();

    let mut conn = app.store().conn().await.unwrap();
    let after = tandem_store::users::get(&mut conn, &user_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(before.last_sign_in_us, None);
    assert!(after
        .last_sign_in_us
        .is_some_and(|at| at >= after.created_us));
    assert!(app.session(&session.token, None).await.unwrap().is_some());
}

#[tokio::test]
async fn sign_in_after_connections_dropped() {
    let app = tandem::build_app(fresh_store().await, &test_settings());
    app.ensure_user_with_role(
        "aroha@example.com",
        "Aroha",
        PASSWORD,
        Role::PlatformAdministrator,
        None,
    )
    .await
    .unwrap();
    app.sign_in("aroha@example.com", PASSWORD, None)
        .await
        .unwrap();
    // PostgreSQL ends every other connection of the test database, as a restart would, while
    // the pool still contains them. A SQLite connection cannot be ended from outside, and its pool
    // must simply lend its idle connections again.
    if app.store().backend() == tandem_store::Backend::Postgres {
        let ended: Vec<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .fetch_all(app.store().pool())
        .await
        .unwrap();
        assert!(!ended.is_empty());
    }
    // Long enough that the pool checks each connection before lending it.
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;

    let attempts: Vec<_> = (0..4)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { app.sign_in("aroha@example.com", PASSWORD, None).await })
        })
        .collect();

    for attempt in attempts {
        let outcome = attempt.await.unwrap();
        assert!(outcome.is_ok(), "sign-in failed: {:?}", outcome.err());
    }
}
