//! Teams: the members of a white label or a customer account, invitations to join one, and
//! passwords (reset links, changing one's own).
//!
//! A user is one person per email address across the platform; joining another team adds a
//! membership to the same user. Invitation and reset tokens carry 256 random bits and are
//! stored only as SHA-256 hashes; each works once.

use std::time::Duration;

use serde_json::json;
use tandem_domain::{
    EmailAddress, InvitationId, MembershipId, Name, Role, ScopeKind, TimeZoneName, UserId,
    WhiteLabelId,
};
use tandem_store::invitations::{self as store_invitations, InvitationRow, NewInvitation};
use tandem_store::memberships::{self, MemberRow, Scope};
use tandem_store::white_labels::{self as store_wl, WhiteLabelRow};
use tandem_store::{customers, sessions, users, Tx};

use crate::access::{Actor, Principal, TeamAdmin};
use crate::audit::{record, Change};
use crate::auth::{
    check_password, hash_password, random_token, token_hash, verify_password, SignInStep,
};
use crate::mail::MailTemplate;
use crate::{App, AppError, AppResult, FieldError};

/// How long a password-reset link works.
pub const RESET_TTL: Duration = Duration::from_secs(3600);

/// A team: its members and the invitations still open.
#[derive(Debug)]
pub struct Team {
    pub members: Vec<Member>,
    pub invitations: Vec<InvitationRow>,
}

/// A member of a team.
#[derive(Debug, Clone)]
pub struct Member {
    pub membership_id: MembershipId,
    pub user_id: UserId,
    pub name: String,
    pub email: String,
    pub role: Role,
    /// `active` or `disabled`.
    pub state: String,
    pub last_sign_in_us: Option<i64>,
}

/// The state of an invitation link, as its page shows it.
#[derive(Debug)]
pub enum InvitationView {
    /// Live; `existing_user` tells whether the email already has a login.
    Ready {
        invitation: Box<InvitationRow>,
        team_name: String,
        existing_user: bool,
    },
    Used,
    Expired,
    NotFound,
}

/// The outcome of adding a user by email.
#[derive(Debug)]
pub struct AddedMember {
    pub user_id: UserId,
    /// True when the email already belonged to a user, who got a membership instead of a
    /// second login.
    pub existing_user: bool,
    /// True when an invitation was sent instead of a membership added (an existing login).
    pub invited: bool,
}

fn expires(now: i64, ttl: Duration) -> i64 {
    now + ttl.as_micros() as i64
}

fn check_role(admin: &TeamAdmin, role: Role) -> AppResult<()> {
    if !admin.role().may_grant(role) {
        return Err(AppError::Forbidden(format!(
            "a {} may not grant the {} role",
            admin.role().label(),
            role.label()
        )));
    }
    let wanted = if admin.customer_id().is_some() {
        ScopeKind::Customer
    } else {
        ScopeKind::WhiteLabel
    };
    if role.scope() != wanted {
        let hint = match wanted {
            ScopeKind::Customer => "account_administrator, tech, conference or standard_user",
            _ => "white_label",
        };
        return Err(AppError::Invalid(vec![FieldError::custom(
            "role",
            "invalid_role",
            format!("{} is not a role on this team: choose {hint}", role.label()),
        )]));
    }
    Ok(())
}

impl App {
    async fn team_name(
        &self,
        conn: &mut Tx,
        admin: &TeamAdmin,
    ) -> AppResult<(WhiteLabelRow, String)> {
        let white_label = store_wl::get(conn, admin.white_label_id())
            .await?
            .ok_or(AppError::NotFound("white label"))?;
        let name = match admin.customer_id() {
            Some(id) => {
                customers::get(conn, admin.white_label_id(), id)
                    .await?
                    .ok_or(AppError::NotFound("customer"))?
                    .legal_name
            }
            None => white_label.name.clone(),
        };
        Ok((white_label, name))
    }

    fn scope<'a>(admin: &'a TeamAdmin) -> Scope<'a> {
        match admin.customer_id() {
            Some(customer_id) => Scope::Customer(admin.white_label_id(), customer_id),
            None => Scope::WhiteLabel(admin.white_label_id()),
        }
    }

    fn scope_id(admin: &TeamAdmin) -> &str {
        admin
            .customer_id()
            .map(|c| c.as_str())
            .unwrap_or(admin.white_label_id().as_str())
    }

    /// Lists a team's members and open invitations.
    pub async fn team(&self, admin: &TeamAdmin) -> AppResult<Team> {
        let mut tx = self.store.begin().await?;
        self.team_name(&mut tx, admin).await?;
        let rows: Vec<MemberRow> = match admin.customer_id() {
            Some(customer_id) => {
                memberships::list_for_customer(&mut tx, admin.white_label_id(), customer_id).await?
            }
            None => memberships::list_for_white_label(&mut tx, admin.white_label_id()).await?,
        };
        let mut members = Vec::with_capacity(rows.len());
        for row in rows {
            let user = users::get(&mut tx, &row.membership.user_id).await?;
            members.push(Member {
                membership_id: row.membership.id.clone(),
                user_id: row.membership.user_id.clone(),
                name: row.name,
                email: row.email,
                role: Role::parse(&row.membership.role)
                    .map_err(|e| AppError::Internal(e.message))?,
                state: row.membership.state,
                last_sign_in_us: user.and_then(|u| u.last_sign_in_us),
            });
        }
        let invitations =
            store_invitations::list_pending(&mut tx, admin.white_label_id(), admin.customer_id())
                .await?;
        tx.rollback().await?;
        Ok(Team {
            members,
            invitations,
        })
    }

    /// Invites each email to the team with `role`; every invitee gets a branded mail with a
    /// single-use link. Fails (inviting nobody) if any email is invalid or already a member.
    pub async fn invite(
        &self,
        admin: &TeamAdmin,
        emails: &[String],
        role: Role,
    ) -> AppResult<Vec<InvitationId>> {
        check_role(admin, role)?;
        let mut parsed = Vec::new();
        let mut errors = Vec::new();
        for (index, raw) in emails.iter().enumerate() {
            match EmailAddress::parse(raw) {
                Ok(email) if !parsed.iter().any(|e: &EmailAddress| e.key() == email.key()) => {
                    parsed.push(email)
                }
                Ok(_) => {}
                Err(error) => errors.push(FieldError::new(format!("emails[{index}]"), error)),
            }
        }
        if parsed.is_empty() && errors.is_empty() {
            errors.push(FieldError::custom(
                "emails",
                "required",
                "give at least one email address",
            ));
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }

        let now = self.now_us();
        let mut tx = self.store.begin().await?;
        let (white_label, team_name) = self.team_name(&mut tx, admin).await?;
        let mut ids = Vec::new();
        for email in &parsed {
            if let Some(user) = users::find_by_email_key(&mut tx, &email.key()).await? {
                if memberships::find(&mut tx, &user.id, Self::scope_id(admin))
                    .await?
                    .is_some()
                {
                    return Err(AppError::Conflict {
                        code: "already_a_member",
                        message: format!(
                            "{} ({}) is already a member of {team_name}",
                            user.name, user.email
                        ),
                        field: Some("emails".into()),
                    });
                }
            }
            let id = InvitationId::new();
            let token = random_token();
            let expires_us = expires(now, self.settings.invitation_ttl);
            store_invitations::insert(
                &mut tx,
                &NewInvitation {
                    id: &id,
                    token_hash: &token_hash(&token),
                    white_label_id: admin.white_label_id(),
                    customer_id: admin.customer_id(),
                    email: email.as_str(),
                    email_key: &email.key(),
                    role: role.as_str(),
                    invited_by: admin.actor().label(),
                    expires_us,
                },
                now,
            )
            .await?;
            self.send_invitation(
                &mut tx,
                now,
                &white_label,
                admin,
                &team_name,
                email,
                role,
                &token,
                expires_us,
            )
            .await?;
            record(
                &mut tx,
                now,
                admin.actor(),
                Change {
                    white_label_id: Some(admin.white_label_id()),
                    customer_id: admin.customer_id(),
                    action: "invitation.created",
                    object_kind: "invitation",
                    object_id: id.as_str(),
                    after: Some(json!({"email": email.as_str(), "role": role.as_str()})),
                    ..Change::default()
                },
            )
            .await?;
            ids.push(id);
        }
        tx.commit().await?;
        Ok(ids)
    }

    #[allow(clippy::too_many_arguments)]
    async fn send_invitation(
        &self,
        tx: &mut Tx,
        now: i64,
        white_label: &WhiteLabelRow,
        admin: &TeamAdmin,
        team_name: &str,
        email: &EmailAddress,
        role: Role,
        token: &str,
        expires_us: i64,
    ) -> AppResult<()> {
        let inviter_name = match admin.actor().user_id() {
            Some(user_id) => users::get(tx, user_id).await?.map(|u| u.name),
            None => None,
        }
        .unwrap_or_else(|| admin.actor().label().to_string());
        let zone = TimeZoneName::parse(
            tandem_domain::Country::parse(&white_label.country)
                .map(|c| c.default_time_zone())
                .unwrap_or("UTC"),
        )
        .unwrap_or_else(|_| TimeZoneName::parse("UTC").expect("UTC"));
        let expires_at = jiff::Timestamp::from_microsecond(expires_us)
            .map(|ts| tandem_domain::format_timestamp(ts, &zone))
            .unwrap_or_default();
        let vars = json!({
            "inviter_name": inviter_name,
            "account_name": team_name,
            "role": role.label(),
            "invitation_url": format!("{}/invitations/{token}", self.portal_url(white_label)),
            "expires_at": expires_at,
        });
        self.enqueue_mail(
            tx,
            now,
            white_label,
            admin.customer_id(),
            MailTemplate::Invitation,
            email,
            vars,
        )
        .await?;
        Ok(())
    }

    /// Sends an open invitation again with a new link; the old link stops working.
    pub async fn resend_invitation(&self, admin: &TeamAdmin, id: &InvitationId) -> AppResult<()> {
        let now = self.now_us();
        let mut tx = self.store.begin().await?;
        let invitation = self.team_invitation(&mut tx, admin, id).await?;
        let (white_label, team_name) = self.team_name(&mut tx, admin).await?;
        let token = random_token();
        let expires_us = expires(now, self.settings.invitation_ttl);
        if !store_invitations::renew(&mut tx, id, &token_hash(&token), expires_us).await? {
            return Err(AppError::Conflict {
                code: "invitation_closed",
                message: "the invitation was already accepted or revoked".into(),
                field: None,
            });
        }
        let email =
            EmailAddress::parse(&invitation.email).map_err(|e| AppError::Internal(e.message))?;
        let role = Role::parse(&invitation.role).map_err(|e| AppError::Internal(e.message))?;
        self.send_invitation(
            &mut tx,
            now,
            &white_label,
            admin,
            &team_name,
            &email,
            role,
            &token,
            expires_us,
        )
        .await?;
        record(
            &mut tx,
            now,
            admin.actor(),
            Change {
                white_label_id: Some(admin.white_label_id()),
                customer_id: admin.customer_id(),
                action: "invitation.resent",
                object_kind: "invitation",
                object_id: id.as_str(),
                ..Change::default()
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Revokes an open invitation; its link stops working.
    pub async fn revoke_invitation(&self, admin: &TeamAdmin, id: &InvitationId) -> AppResult<()> {
        let now = self.now_us();
        let mut tx = self.store.begin().await?;
        self.team_invitation(&mut tx, admin, id).await?;
        if !store_invitations::finish(&mut tx, id, "revoked", now).await? {
            return Err(AppError::Conflict {
                code: "invitation_closed",
                message: "the invitation was already accepted or revoked".into(),
                field: None,
            });
        }
        record(
            &mut tx,
            now,
            admin.actor(),
            Change {
                white_label_id: Some(admin.white_label_id()),
                customer_id: admin.customer_id(),
                action: "invitation.revoked",
                object_kind: "invitation",
                object_id: id.as_str(),
                ..Change::default()
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn team_invitation(
        &self,
        tx: &mut Tx,
        admin: &TeamAdmin,
        id: &InvitationId,
    ) -> AppResult<InvitationRow> {
        match store_invitations::get(tx, admin.white_label_id(), id).await? {
            Some(row) if row.customer_id.as_ref() == admin.customer_id() => Ok(row),
            _ => Err(AppError::NotFound("invitation")),
        }
    }

    /// Adds a user to the team. An email that already has a login gets a membership on the same
    /// user; a new one gets a user and a mail with a link to set a password.
    pub async fn add_member(
        &self,
        admin: &TeamAdmin,
        name: &str,
        email: &str,
        role: Role,
    ) -> AppResult<AddedMember> {
        check_role(admin, role)?;
        let email = EmailAddress::parse(email).map_err(|e| AppError::field("email", e))?;
        let name = Name::parse(name, 120).map_err(|e| AppError::field("name", e))?;
        let now = self.now_us();
        let mut tx = self.store.begin().await?;
        let (white_label, team_name) = self.team_name(&mut tx, admin).await?;
        let existing = users::find_by_email_key(&mut tx, &email.key()).await?;
        let (user_id, existing_user) = match existing {
            Some(user) => {
                if memberships::find(&mut tx, &user.id, Self::scope_id(admin))
                    .await?
                    .is_some()
                {
                    return Err(AppError::Conflict {
                        code: "already_a_member",
                        message: format!(
                            "{} ({}) is already a member of {team_name}",
                            user.name, user.email
                        ),
                        field: Some("email".into()),
                    });
                }
                // A login that already exists joins only with its owner's consent: they get an
                // invitation, and become a member when they accept it with their password.
                drop(tx);
                self.invite(admin, &[email.as_str().to_string()], role)
                    .await?;
                return Ok(AddedMember {
                    user_id: user.id,
                    existing_user: true,
                    invited: true,
                });
            }
            None => {
                let id = UserId::new();
                users::insert(
                    &mut tx,
                    &id,
                    email.as_str(),
                    &email.key(),
                    name.as_str(),
                    None,
                    now,
                )
                .await?;
                let token = random_token();
                store_invitations::insert_reset(
                    &mut tx,
                    &token_hash(&token),
                    &id,
                    now,
                    expires(now, self.settings.invitation_ttl),
                )
                .await?;
                let vars = json!({
                    "name": name.as_str(),
                    "reset_url": format!("{}/reset-password/{token}", self.portal_url(&white_label)),
                    "expires_at": "7 days",
                });
                self.enqueue_mail(
                    &mut tx,
                    now,
                    &white_label,
                    admin.customer_id(),
                    MailTemplate::PasswordReset,
                    &email,
                    vars,
                )
                .await?;
                (id, false)
            }
        };
        memberships::insert(
            &mut tx,
            &MembershipId::new(),
            &user_id,
            role.as_str(),
            Self::scope(admin),
            now,
        )
        .await?;
        record(&mut tx, now, admin.actor(), Change {
            white_label_id: Some(admin.white_label_id()),
            customer_id: admin.customer_id(),
            action: "membership.created",
            object_kind: "user",
            object_id: user_id.as_str(),
            after: Some(json!({"email": email.as_str(), "role": role.as_str(), "existing_user": existing_user})),
            ..Change::default()
        })
        .await?;
        tx.commit().await?;
        self.session_cache.forget_user(&user_id);
        Ok(AddedMember {
            user_id,
            existing_user,
            invited: false,
        })
    }

    async fn team_membership(
        &self,
        tx: &mut Tx,
        admin: &TeamAdmin,
        id: &MembershipId,
    ) -> AppResult<tandem_store::memberships::MembershipRow> {
        match memberships::get(tx, admin.white_label_id(), id).await? {
            Some(row) if row.customer_id.as_ref() == admin.customer_id() => Ok(row),
            _ => Err(AppError::NotFound("member")),
        }
    }

    /// Changes a member's role, disables or re-enables them, or removes them. A disabled or
    /// removed member's sessions stop granting the role at once, because the change drops
    /// their cached sessions and the next request reads the active memberships again.
    pub async fn update_member(
        &self,
        admin: &TeamAdmin,
        id: &MembershipId,
        change: MemberChange,
    ) -> AppResult<()> {
        let now = self.now_us();
        let mut tx = self.store.begin().await?;
        let before = self.team_membership(&mut tx, admin, id).await?;
        if admin.actor().user_id() == Some(&before.user_id) {
            return Err(AppError::Forbidden(
                "you cannot change your own membership; ask another administrator".into(),
            ));
        }
        let current = Role::parse(&before.role).map_err(|e| AppError::Internal(e.message))?;
        if !admin.role().may_grant(current) {
            return Err(AppError::Forbidden(format!(
                "a {} may not change a {}",
                admin.role().label(),
                current.label()
            )));
        }
        let (action, after) = match change {
            MemberChange::Role(role) => {
                check_role(admin, role)?;
                memberships::set_role(&mut tx, id, role.as_str()).await?;
                ("membership.role_changed", json!({"role": role.as_str()}))
            }
            MemberChange::Disable => {
                memberships::set_state(&mut tx, id, "disabled").await?;
                ("membership.disabled", json!({"state": "disabled"}))
            }
            MemberChange::Enable => {
                memberships::set_state(&mut tx, id, "active").await?;
                ("membership.enabled", json!({"state": "active"}))
            }
            MemberChange::ResetPassword => {
                self.reset_member_password(&mut tx, now, admin, &before.user_id)
                    .await?;
                (
                    "password.reset_by_administrator",
                    json!({"sessions_ended": true}),
                )
            }
            MemberChange::Remove => {
                memberships::delete(&mut tx, id).await?;
                ("membership.removed", json!({"removed": true}))
            }
        };
        record(
            &mut tx,
            now,
            admin.actor(),
            Change {
                white_label_id: Some(admin.white_label_id()),
                customer_id: admin.customer_id(),
                action,
                object_kind: "user",
                object_id: before.user_id.as_str(),
                before: Some(json!({"role": before.role, "state": before.state})),
                after: Some(after),
                ..Change::default()
            },
        )
        .await?;
        tx.commit().await?;
        self.session_cache.forget_user(&before.user_id);
        Ok(())
    }

    /// Signs a member out everywhere and mails them a link to set a new password. Only a login
    /// wholly within this white label's tree is reset here, because the white label writes the
    /// mail's template; anyone else resets their own password.
    async fn reset_member_password(
        &self,
        tx: &mut Tx,
        now: i64,
        admin: &TeamAdmin,
        user_id: &UserId,
    ) -> AppResult<()> {
        let all = memberships::active_for_user(tx, user_id).await?;
        if all
            .iter()
            .any(|m| m.white_label_id.as_ref() != Some(admin.white_label_id()))
        {
            return Err(AppError::Forbidden(
                "this person also belongs to accounts outside yours: they can reset their own \
                 password from the sign-in page"
                    .into(),
            ));
        }
        let user = users::get(tx, user_id)
            .await?
            .ok_or(AppError::NotFound("member"))?;
        let email = EmailAddress::parse(&user.email).map_err(|e| AppError::Internal(e.message))?;
        let white_label = store_wl::get(tx, admin.white_label_id())
            .await?
            .ok_or(AppError::NotFound("white label"))?;
        sessions::delete_for_user(tx, user_id).await?;
        let token = random_token();
        store_invitations::insert_reset(
            tx,
            &token_hash(&token),
            user_id,
            now,
            expires(now, RESET_TTL),
        )
        .await?;
        let vars = json!({
            "name": user.name,
            "reset_url": format!("{}/reset-password/{token}", self.portal_url(&white_label)),
            "expires_at": "one hour",
        });
        self.enqueue_mail(
            tx,
            now,
            &white_label,
            admin.customer_id(),
            MailTemplate::PasswordReset,
            &email,
            vars,
        )
        .await?;
        Ok(())
    }

    /// Looks up an invitation link for its page.
    pub async fn invitation_view(
        &self,
        white_label_id: &WhiteLabelId,
        token: &str,
    ) -> AppResult<InvitationView> {
        let now = self.now_us();
        let mut conn = self.store.conn().await?;
        let Some(invitation) =
            store_invitations::find_by_token(&mut conn, white_label_id, &token_hash(token)).await?
        else {
            return Ok(InvitationView::NotFound);
        };
        match invitation.state.as_str() {
            "accepted" => return Ok(InvitationView::Used),
            "revoked" => return Ok(InvitationView::Expired),
            _ if invitation.expires_us <= now => return Ok(InvitationView::Expired),
            _ => {}
        }
        let team_name = match &invitation.customer_id {
            Some(id) => customers::get(&mut conn, white_label_id, id)
                .await?
                .map(|c| c.legal_name)
                .unwrap_or_default(),
            None => store_wl::get(&mut conn, white_label_id)
                .await?
                .map(|w| w.name)
                .unwrap_or_default(),
        };
        let existing_user = users::find_by_email_key(&mut conn, &invitation.email.to_lowercase())
            .await?
            .is_some();
        Ok(InvitationView::Ready {
            invitation: Box::new(invitation),
            team_name,
            existing_user,
        })
    }

    /// Accepts an invitation: exactly once, however many times or however concurrently the link
    /// is used. A new user sets a name and password; an existing user keeps theirs and must
    /// give it. Returns a session for the accepting user, or, when they have an authenticator,
    /// a pending sign-in that waits for their code.
    pub async fn accept_invitation(
        &self,
        white_label_id: &WhiteLabelId,
        token: &str,
        name: &str,
        password: &str,
        source_ip: Option<&str>,
    ) -> AppResult<SignInStep> {
        let hash = token_hash(token);
        let now = self.now_us();
        let mut conn = self.store.conn().await?;
        let invitation = store_invitations::find_by_token(&mut conn, white_label_id, &hash)
            .await?
            .ok_or(AppError::NotFound("invitation"))?;
        let existing =
            users::find_by_email_key(&mut conn, &invitation.email.to_lowercase()).await?;
        drop(conn);
        let new_hash = match &existing {
            Some(user) => {
                let stored = user.password_hash.clone().unwrap_or_default();
                if !verify_password(password.to_string(), stored).await {
                    return Err(AppError::Invalid(vec![FieldError::custom(
                        "password",
                        "wrong_password",
                        "that is not the password of this login: give your current password",
                    )]));
                }
                None
            }
            None => {
                let name = Name::parse(name, 120).map_err(|e| AppError::field("name", e))?;
                check_password(password).map_err(|e| AppError::field("password", e))?;
                Some((name, hash_password(password.to_string()).await?))
            }
        };

        let mut tx = self.store.begin().await?;
        if invitation.state != "pending"
            || invitation.expires_us <= now
            || !store_invitations::finish(&mut tx, &invitation.id, "accepted", now).await?
        {
            return Err(AppError::Conflict {
                code: "invitation_used",
                message: "this invitation link has already been used".into(),
                field: None,
            });
        }
        let email =
            EmailAddress::parse(&invitation.email).map_err(|e| AppError::Internal(e.message))?;
        let user_id = match users::find_by_email_key(&mut tx, &email.key()).await? {
            Some(user) => user.id,
            None => {
                let (name, password_hash) =
                    new_hash.ok_or_else(|| AppError::Internal("user vanished".into()))?;
                let id = UserId::new();
                users::insert(
                    &mut tx,
                    &id,
                    email.as_str(),
                    &email.key(),
                    name.as_str(),
                    Some(&password_hash),
                    now,
                )
                .await
                .map_err(|error| {
                    // Another invitation for the same new email was accepted at the same moment
                    // and created the login first.
                    if error.is_conflict_on("uq_users_email_key") {
                        AppError::Conflict {
                            code: "login_just_created",
                            message: "a login for this email was created a moment ago: sign in \
                                      with it, then open this invitation again"
                                .into(),
                            field: None,
                        }
                    } else {
                        error.into()
                    }
                })?;
                id
            }
        };
        let scope = match &invitation.customer_id {
            Some(customer_id) => Scope::Customer(white_label_id, customer_id),
            None => Scope::WhiteLabel(white_label_id),
        };
        memberships::insert_if_absent(
            &mut tx,
            &MembershipId::new(),
            &user_id,
            &invitation.role,
            scope,
            now,
        )
        .await?;
        record(
            &mut tx,
            now,
            &Actor::system(email.as_str()),
            Change {
                white_label_id: Some(white_label_id),
                customer_id: invitation.customer_id.as_ref(),
                action: "invitation.accepted",
                object_kind: "invitation",
                object_id: invitation.id.as_str(),
                after: Some(json!({"user_id": user_id.as_str(), "role": invitation.role})),
                ..Change::default()
            },
        )
        .await?;
        tx.commit().await?;
        self.session_cache.forget_user(&user_id);
        self.session_or_challenge(&user_id, source_ip).await
    }

    /// Mails a password-reset link if `email` belongs to a user, and returns the same either way.
    pub async fn request_password_reset(
        &self,
        white_label_id: &WhiteLabelId,
        email: &str,
    ) -> AppResult<()> {
        let Ok(email) = EmailAddress::parse(email) else {
            return Ok(());
        };
        let now = self.now_us();
        let mut tx = self.store.begin().await?;
        let white_label = store_wl::get(&mut tx, white_label_id)
            .await?
            .ok_or(AppError::NotFound("white label"))?;
        let Some(user) = users::find_by_email_key(&mut tx, &email.key()).await? else {
            return Ok(());
        };
        // Only people wholly of this white label's tree get its reset mail, because the white
        // label writes its template: a login that also belongs to the platform or to another
        // white label resets elsewhere, and no existing login joins a tree without accepting.
        let memberships = memberships::active_for_user(&mut tx, &user.id).await?;
        let belongs = !memberships.is_empty()
            && memberships
                .iter()
                .all(|m| m.white_label_id.as_ref() == Some(white_label_id));
        if !belongs {
            return Ok(());
        }
        let token = random_token();
        store_invitations::insert_reset(
            &mut tx,
            &token_hash(&token),
            &user.id,
            now,
            expires(now, RESET_TTL),
        )
        .await?;
        let vars = json!({
            "name": user.name,
            "reset_url": format!("{}/reset-password/{token}", self.portal_url(&white_label)),
            "expires_at": "one hour",
        });
        self.enqueue_mail(
            &mut tx,
            now,
            &white_label,
            None,
            MailTemplate::PasswordReset,
            &email,
            vars,
        )
        .await?;
        record(
            &mut tx,
            now,
            &Actor::system(email.as_str()),
            Change {
                white_label_id: Some(white_label_id),
                action: "password.reset_requested",
                object_kind: "user",
                object_id: user.id.as_str(),
                ..Change::default()
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether a password-reset link still works.
    pub async fn password_reset_is_live(&self, token: &str) -> AppResult<bool> {
        let mut conn = self.store.conn().await?;
        Ok(store_invitations::reset_is_live(&mut conn, &token_hash(token), self.now_us()).await?)
    }

    /// Sets a new password through a reset link, once, and signs the user out everywhere.
    pub async fn reset_password(&self, token: &str, password: &str) -> AppResult<()> {
        check_password(password).map_err(|e| AppError::field("password", e))?;
        let hash = hash_password(password.to_string()).await?;
        let now = self.now_us();
        let mut tx = self.store.begin().await?;
        let Some(user_id) = store_invitations::use_reset(&mut tx, &token_hash(token), now).await?
        else {
            return Err(AppError::Conflict {
                code: "reset_link_used",
                message: "this link has expired or was already used: ask for a new one".into(),
                field: None,
            });
        };
        users::set_password_hash(&mut tx, &user_id, &hash).await?;
        let ended = sessions::delete_for_user(&mut tx, &user_id).await?;
        record(
            &mut tx,
            now,
            &Actor::system("password reset link"),
            Change {
                action: "password.reset",
                object_kind: "user",
                object_id: user_id.as_str(),
                after: Some(json!({"sessions_ended": ended})),
                ..Change::default()
            },
        )
        .await?;
        tx.commit().await?;
        self.session_cache.forget_user(&user_id);
        Ok(())
    }

    /// Changes the signed-in user's own name.
    pub async fn change_own_name(&self, principal: &Principal, name: &str) -> AppResult<()> {
        let user = principal
            .user_row()
            .ok_or_else(|| AppError::Forbidden("API keys have no name to change".into()))?;
        let name = Name::parse(name, 120).map_err(|e| AppError::field("name", e))?;
        let now = self.now_us();
        let mut tx = self.store.begin().await?;
        users::set_name(&mut tx, &user.id, name.as_str()).await?;
        record(
            &mut tx,
            now,
            principal.actor(),
            Change {
                action: "user.renamed",
                object_kind: "user",
                object_id: user.id.as_str(),
                before: Some(json!({"name": user.name})),
                after: Some(json!({"name": name.as_str()})),
                ..Change::default()
            },
        )
        .await?;
        tx.commit().await?;
        self.session_cache.forget_user(&user.id);
        Ok(())
    }

    /// Changes the signed-in user's own password; the current one is required.
    pub async fn change_own_password(
        &self,
        principal: &Principal,
        current: &str,
        new: &str,
    ) -> AppResult<()> {
        let user = principal
            .user_row()
            .ok_or_else(|| AppError::Forbidden("API keys have no password".into()))?;
        let stored = user.password_hash.clone().unwrap_or_default();
        if !verify_password(current.to_string(), stored).await {
            return Err(AppError::field(
                "current_password",
                tandem_domain::ValueError::new(
                    "wrong_password",
                    "that is not your current password",
                ),
            ));
        }
        check_password(new).map_err(|e| AppError::field("new_password", e))?;
        let hash = hash_password(new.to_string()).await?;
        let now = self.now_us();
        let mut tx = self.store.begin().await?;
        users::set_password_hash(&mut tx, &user.id, &hash).await?;
        record(
            &mut tx,
            now,
            principal.actor(),
            Change {
                action: "password.changed",
                object_kind: "user",
                object_id: user.id.as_str(),
                ..Change::default()
            },
        )
        .await?;
        tx.commit().await?;
        self.session_cache.forget_user(&user.id);
        Ok(())
    }
}

/// A change to a membership.
#[derive(Debug, Clone, Copy)]
pub enum MemberChange {
    Role(Role),
    Disable,
    Enable,
    Remove,
    /// Ends the member's sessions everywhere and mails them a link to set a new password.
    ResetPassword,
}

/// The users holding a role on one customer account.
pub(crate) async fn account_user_ids(
    conn: &mut tandem_store::Conn,
    white_label_id: &tandem_domain::WhiteLabelId,
    customer_id: &tandem_domain::CustomerId,
) -> AppResult<Vec<tandem_domain::UserId>> {
    Ok(
        tandem_store::memberships::list_for_customer(conn, white_label_id, customer_id)
            .await?
            .into_iter()
            .map(|member| member.membership.user_id)
            .collect(),
    )
}
