//! The ledger under concurrency, on the real database: debits never overdraw and the balance
//! always equals the sum of its entries.

mod support;

use std::sync::Arc;

use support::{create_white_label, fresh_store, test_settings};
use tandem_app::access::PlatformAdmin;
use tandem_app::AppError;
use tandem_domain::LedgerKind;

#[tokio::test]
async fn concurrent_debits_never_overdraw() {
    let app = tandem::build_app(fresh_store().await, &test_settings());
    let wl = create_white_label(&app, "harbour", "0.50").await;
    let app = Arc::new(app);

    let mut tasks = Vec::new();
    for i in 0..10 {
        let app = app.clone();
        let id = wl.id.clone();
        tasks.push(tokio::spawn(async move {
            app.post_white_label_balance(
                &PlatformAdmin::command_line(),
                &id,
                LedgerKind::Adjustment,
                "-0.10",
                &format!("debit {i}"),
            )
            .await
        }));
    }
    let mut succeeded = 0;
    let mut refused = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(_) => succeeded += 1,
            Err(AppError::InsufficientFunds { .. }) => refused += 1,
            Err(other) => panic!("unexpected error: {other}"),
        }
    }

    assert_eq!(succeeded, 5);
    assert_eq!(refused, 5);
    let row = app
        .white_label_by_id(&PlatformAdmin::command_line(), &wl.id)
        .await
        .expect("white label");
    assert_eq!(row.balance_minor, 0);
    let mut conn = app.store().conn().await.expect("connection");
    let sum = tandem_store::ledger::sum_for_account(&mut conn, wl.id.as_str())
        .await
        .expect("sum");
    assert_eq!(sum, 0);
}

#[tokio::test]
async fn adjustment_reason_required_and_zero_rejected() {
    let app = tandem::build_app(fresh_store().await, &test_settings());
    let wl = create_white_label(&app, "harbour", "10.00").await;
    let admin = PlatformAdmin::command_line();

    let no_reason = app
        .post_white_label_balance(&admin, &wl.id, LedgerKind::Adjustment, "5.00", " ")
        .await;
    let zero = app
        .post_white_label_balance(&admin, &wl.id, LedgerKind::Adjustment, "0.00", "nothing")
        .await;
    let negative_top_up = app
        .post_white_label_balance(&admin, &wl.id, LedgerKind::TopUp, "-5.00", "refund")
        .await;
    let charge_kind = app
        .post_white_label_balance(&admin, &wl.id, LedgerKind::Charge, "5.00", "manual charge")
        .await;

    for (case, result) in [
        ("no reason", no_reason),
        ("zero", zero),
        ("negative top-up", negative_top_up),
        ("charge", charge_kind),
    ] {
        assert!(
            matches!(result, Err(AppError::Invalid(_))),
            "{case}: {result:?}"
        );
    }
    let row = app
        .white_label_by_id(&admin, &wl.id)
        .await
        .expect("white label");
    assert_eq!(row.balance_minor, 1000);
}

#[tokio::test]
async fn adjustment_records_audit_with_reason() {
    let app = tandem::build_app(fresh_store().await, &test_settings());
    let wl = create_white_label(&app, "harbour", "10.00").await;
    let admin = PlatformAdmin::command_line();

    app.post_white_label_balance(
        &admin,
        &wl.id,
        LedgerKind::Adjustment,
        "-2.50",
        "Porting fee",
    )
    .await
    .expect("posted");

    let audit = app
        .white_label_audit(&admin.for_white_label(&wl.id), None, 10)
        .await
        .expect("audit");
    let entry = audit
        .iter()
        .find(|e| e.action == "balance.adjusted")
        .expect("audited");
    assert_eq!(entry.reason.as_deref(), Some("Porting fee"));
    assert!(entry.after_json.as_deref().unwrap().contains("750"));
}
