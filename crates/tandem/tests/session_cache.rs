//! The in-memory session cache: every change to what a session grants reaches the next
//! request at once. Each test reads a session first, so that it is cached, then makes one
//! change through a use case and reads the session again.

mod support;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use support::{create_white_label, customer_body, fresh_store, TestWhiteLabel, PASSWORD};
use tandem_app::access::{PlatformAdmin, Principal};
use tandem_app::customers::CustomerInput;
use tandem_app::team::MemberChange;
use tandem_app::two_factor::{base32_decode, step_at, totp};
use tandem_app::{App, AppSettings, Clock};
use tandem_domain::{Permission, Role};

/// A clock that moves only when a test moves it.
struct ManualClock(AtomicI64);

impl Clock for ManualClock {
    fn now_us(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl ManualClock {
    fn advance_secs(&self, secs: i64) {
        self.0.fetch_add(secs * 1_000_000, Ordering::SeqCst);
    }
}

struct Fixture {
    app: App,
    clock: Arc<ManualClock>,
    wl: TestWhiteLabel,
}

/// Builds an app whose clock starts at the current time, with one white label and its
/// administrator.
async fn fixture() -> Fixture {
    let now = jiff::Timestamp::now().as_microsecond();
    let clock = Arc::new(ManualClock(AtomicI64::new(now)));
    let app = App::new(fresh_store().await, clock.clone(), AppSettings::default());
    let wl = create_white_label(&app, "harbour", "1000.00").await;
    Fixture { app, clock, wl }
}

/// Signs `email` in and reads the session once, which caches it.
async fn cached_session(app: &App, email: &str) -> String {
    let session = app.sign_in(email, PASSWORD, None).await.unwrap();
    assert!(app.session(&session.token, None).await.unwrap().is_some());
    session.token
}

async fn principal(app: &App, token: &str) -> Option<Principal> {
    app.session(token, None)
        .await
        .unwrap()
        .map(|session| session.principal)
}

/// Adds a second administrator to the white label and returns a session of the first, who
/// manages the team.
async fn second_administrator(f: &Fixture, email: &str) -> Principal {
    f.app
        .ensure_user_with_role(email, "Mere", PASSWORD, Role::WhiteLabel, Some(&f.wl.id))
        .await
        .unwrap();
    let token = cached_session(&f.app, &f.wl.admin_email).await;
    principal(&f.app, &token).await.unwrap()
}

#[tokio::test]
async fn sign_out_ends_cached_session() {
    let f = fixture().await;
    let token = cached_session(&f.app, &f.wl.admin_email).await;

    f.app.sign_out(&token).await.unwrap();

    assert!(principal(&f.app, &token).await.is_none());
}

#[tokio::test]
async fn expired_session_not_served() {
    let f = fixture().await;
    let token = cached_session(&f.app, &f.wl.admin_email).await;
    let ttl_secs = AppSettings::default().session_ttl.as_secs() as i64;

    f.clock.advance_secs(ttl_secs - 1);
    assert!(principal(&f.app, &token).await.is_some());
    f.clock.advance_secs(1);

    assert!(principal(&f.app, &token).await.is_none());
}

#[tokio::test]
async fn change_by_another_process_seen_after_30_seconds() {
    let f = fixture().await;
    let token = cached_session(&f.app, &f.wl.admin_email).await;
    // Another server on the same database ends every session of the user.
    let user_id = principal(&f.app, &token)
        .await
        .unwrap()
        .user_row()
        .unwrap()
        .id
        .clone();
    let mut conn = f.app.store().conn().await.unwrap();
    tandem_store::sessions::delete_for_user(&mut conn, &user_id)
        .await
        .unwrap();
    drop(conn);

    f.clock.advance_secs(29);
    assert!(principal(&f.app, &token).await.is_some());
    f.clock.advance_secs(1);

    assert!(principal(&f.app, &token).await.is_none());
}

#[tokio::test]
async fn own_password_change_reaches_cached_session() {
    let f = fixture().await;
    let token = cached_session(&f.app, &f.wl.admin_email).await;
    let before = principal(&f.app, &token).await.unwrap();
    let new_password = "a brand new passphrase";

    f.app
        .change_own_password(&before, PASSWORD, new_password)
        .await
        .unwrap();

    // The old password no longer passes the check that a second change makes.
    let after = principal(&f.app, &token).await.unwrap();
    assert_ne!(
        after.user_row().unwrap().password_hash,
        before.user_row().unwrap().password_hash
    );
    let again = f
        .app
        .change_own_password(&after, PASSWORD, "yet another passphrase")
        .await;
    assert!(again.is_err());
}

#[tokio::test]
async fn own_name_change_reaches_cached_session() {
    let f = fixture().await;
    let token = cached_session(&f.app, &f.wl.admin_email).await;
    let before = principal(&f.app, &token).await.unwrap();

    f.app.change_own_name(&before, "Aroha Ngata").await.unwrap();

    let after = principal(&f.app, &token).await.unwrap();
    assert_eq!(after.user_row().unwrap().name, "Aroha Ngata");
}

#[tokio::test]
async fn password_reset_by_administrator_ends_cached_session() {
    let f = fixture().await;
    let admin = second_administrator(&f, "mere@harbour.example").await;
    let token = cached_session(&f.app, "mere@harbour.example").await;
    let team_admin = admin.team_admin(&f.wl.id, None).unwrap();
    let member = member_id(&f.app, &team_admin, "mere@harbour.example").await;

    f.app
        .update_member(&team_admin, &member, MemberChange::ResetPassword)
        .await
        .unwrap();

    assert!(principal(&f.app, &token).await.is_none());
}

#[tokio::test]
async fn disabled_member_loses_role_at_once() {
    let f = fixture().await;
    let admin = second_administrator(&f, "mere@harbour.example").await;
    let token = cached_session(&f.app, "mere@harbour.example").await;
    let cached = principal(&f.app, &token).await.unwrap();
    assert!(cached.role_on_white_label(&f.wl.id).is_some());
    let team_admin = admin.team_admin(&f.wl.id, None).unwrap();
    let member = member_id(&f.app, &team_admin, "mere@harbour.example").await;

    f.app
        .update_member(&team_admin, &member, MemberChange::Disable)
        .await
        .unwrap();

    let after = principal(&f.app, &token).await.unwrap();
    assert!(after.role_on_white_label(&f.wl.id).is_none());
}

#[tokio::test]
async fn removed_member_loses_role_at_once() {
    let f = fixture().await;
    let admin = second_administrator(&f, "mere@harbour.example").await;
    let token = cached_session(&f.app, "mere@harbour.example").await;
    let team_admin = admin.team_admin(&f.wl.id, None).unwrap();
    let member = member_id(&f.app, &team_admin, "mere@harbour.example").await;

    f.app
        .update_member(&team_admin, &member, MemberChange::Remove)
        .await
        .unwrap();

    let after = principal(&f.app, &token).await.unwrap();
    assert!(after.role_on_white_label(&f.wl.id).is_none());
}

#[tokio::test]
async fn role_change_reaches_cached_session() {
    let f = fixture().await;
    let admin_token = cached_session(&f.app, &f.wl.admin_email).await;
    let admin = principal(&f.app, &admin_token).await.unwrap();
    let customer = create_customer(&f, &admin).await;
    let team_admin = admin.team_admin(&f.wl.id, Some(&customer)).unwrap();
    f.app
        .add_member(&team_admin, "Tama", "tama@kauri.example", Role::Tech)
        .await
        .unwrap();
    set_password(&f.app, "tama@kauri.example").await;
    let token = cached_session(&f.app, "tama@kauri.example").await;
    let before = principal(&f.app, &token).await.unwrap();
    assert_eq!(account_role(&before, &f, &customer), Some(Role::Tech));
    let member = member_id(&f.app, &team_admin, "tama@kauri.example").await;

    f.app
        .update_member(&team_admin, &member, MemberChange::Role(Role::StandardUser))
        .await
        .unwrap();

    let after = principal(&f.app, &token).await.unwrap();
    assert_eq!(
        account_role(&after, &f, &customer),
        Some(Role::StandardUser)
    );
}

#[tokio::test]
async fn customer_creation_adds_membership_to_cached_session() {
    let f = fixture().await;
    let token = cached_session(&f.app, &f.wl.admin_email).await;
    let admin = principal(&f.app, &token).await.unwrap();

    let customer = create_customer(&f, &admin).await;

    let after = principal(&f.app, &token).await.unwrap();
    assert_eq!(
        account_role(&after, &f, &customer),
        Some(Role::AccountAdministrator)
    );
}

#[tokio::test]
async fn two_factor_requirement_reaches_cached_session() {
    let f = fixture().await;
    let token = cached_session(&f.app, &f.wl.admin_email).await;
    let platform = PlatformAdmin::command_line();

    f.app
        .set_two_factor_requirement(&platform.for_white_label(&f.wl.id), true)
        .await
        .unwrap();

    let session = f.app.session(&token, None).await.unwrap().unwrap();
    assert!(session.must_enrol_two_factor);
}

#[tokio::test]
async fn two_factor_enrolment_reaches_cached_session() {
    let f = fixture().await;
    let platform = PlatformAdmin::command_line();
    f.app
        .set_two_factor_requirement(&platform.for_white_label(&f.wl.id), true)
        .await
        .unwrap();
    let token = cached_session(&f.app, &f.wl.admin_email).await;
    let before = f.app.session(&token, None).await.unwrap().unwrap();
    assert!(before.must_enrol_two_factor);

    let enrolment = f
        .app
        .start_two_factor(&before.principal, "Harbour")
        .await
        .unwrap();
    let secret = base32_decode(&enrolment.secret_base32).unwrap();
    let code = totp(&secret, step_at(f.clock.now_us()), 6);
    f.app
        .confirm_two_factor(&before.principal, &code)
        .await
        .unwrap();

    let after = f.app.session(&token, None).await.unwrap().unwrap();
    assert!(!after.must_enrol_two_factor);

    // Turning it off again makes the requirement apply again.
    f.clock.advance_secs(30);
    let code = totp(&secret, step_at(f.clock.now_us()), 6);
    f.app
        .disable_two_factor(&after.principal, PASSWORD, &code)
        .await
        .unwrap();
    let disabled = f.app.session(&token, None).await.unwrap().unwrap();
    assert!(disabled.must_enrol_two_factor);
}

async fn member_id(
    app: &App,
    team_admin: &tandem_app::access::TeamAdmin,
    email: &str,
) -> tandem_domain::MembershipId {
    app.team(team_admin)
        .await
        .unwrap()
        .members
        .into_iter()
        .find(|m| m.email == email)
        .map(|m| m.membership_id)
        .expect("member listed")
}

async fn create_customer(f: &Fixture, admin: &Principal) -> tandem_domain::CustomerId {
    let wl_admin = admin
        .white_label_admin(&f.wl.id, Permission::CreateCustomers)
        .unwrap();
    let input: CustomerInput =
        serde_json::from_value(customer_body(&f.wl.plan_id, "Kauri Joinery")).unwrap();
    let render = |_: &tandem_store::customers::CustomerRow| String::new();
    match f
        .app
        .create_customer(&wl_admin, &input, None, &render)
        .await
        .unwrap()
    {
        tandem_app::customers::Creation::Created { customer, .. } => customer.id,
        tandem_app::customers::Creation::Replayed { .. } => panic!("no idempotency key sent"),
    }
}

/// Gives a user added without a password the test password, as the set-password link would.
async fn set_password(app: &App, email: &str) {
    let hash = tandem_app::auth::hash_password(PASSWORD.into())
        .await
        .unwrap();
    let mut conn = app.store().conn().await.unwrap();
    let user = tandem_store::users::find_by_email_key(&mut conn, email)
        .await
        .unwrap()
        .unwrap();
    tandem_store::users::set_password_hash(&mut conn, &user.id, &hash)
        .await
        .unwrap();
}

fn account_role(
    principal: &Principal,
    f: &Fixture,
    customer: &tandem_domain::CustomerId,
) -> Option<Role> {
    principal
        .account_member(&f.wl.id, customer)
        .ok()
        .map(|member| member.role())
}
