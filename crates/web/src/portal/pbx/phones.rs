//! The Phones page of an account: its SIP domain and the server its phones register with, the
//! registrations of its extensions, the blocks after failed authentications against them, and
//! the account's SIP settings.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use tandem_app::sip::{AccountSipInput, AccountSipView, BlockView, RegistrationView};
use tandem_domain::SipBlockId;

use super::{AccountHead, PbxPortal};
use crate::portal::forms::Posted;
use crate::portal::{render, Chrome, Form};
use crate::AppState;

#[derive(Template)]
#[template(path = "pbx_phones.html")]
struct PhonesPage {
    chrome: Chrome,
    account: AccountHead,
    active: &'static str,
    sip: AccountSipView,
    registrations: Vec<RegistrationView>,
    blocks: Vec<BlockView>,
    /// Whether the caller acts for the white label, who alone may change the domain's label.
    white_label: bool,
    settings_action: String,
    base: String,
    form: Form,
}

async fn page(
    state: &AppState,
    portal: &PbxPortal,
    form: Option<Form>,
    flash: Option<String>,
    status: StatusCode,
) -> Response {
    let loaded = async {
        let sip = state.app.account_sip(&portal.op).await?;
        let registrations = state.app.registrations(&portal.op).await?;
        let blocks = state.app.account_sip_blocks(&portal.op).await?;
        Ok::<_, tandem_app::AppError>((sip, registrations, blocks))
    }
    .await;
    let (sip, registrations, blocks) = match loaded {
        Ok(loaded) => loaded,
        Err(error) => return portal.error(state, error),
    };
    let form = form.unwrap_or_else(|| {
        let mut form = Form::default();
        if !sip.label_is_default {
            form.values.insert("label".into(), sip.label.clone());
        }
        if sip.sha256 {
            form.values.insert("sha256".into(), "on".into());
        }
        form
    });
    let mut chrome = portal.chrome(state, "Phones");
    chrome.flash = flash;
    let page = PhonesPage {
        chrome,
        account: portal.head(),
        active: "phones",
        sip,
        registrations,
        blocks,
        white_label: portal.op.is_white_label(),
        settings_action: format!("{}/phones/settings", portal.base()),
        base: portal.base(),
        form,
    };
    (status, render(&page)).into_response()
}

pub(super) async fn show(State(state): State<AppState>, portal: PbxPortal) -> Response {
    page(&state, &portal, None, None, StatusCode::OK).await
}

pub(super) async fn save(State(state): State<AppState>, posted: Posted<PbxPortal>) -> Response {
    let Posted { ctx: portal, form } = posted;
    let input = AccountSipInput {
        label: portal
            .op
            .is_white_label()
            .then(|| form.get("label").to_string()),
        sha256: Some(form.checked("sha256")),
    };
    match state.app.update_account_sip(&portal.op, &input).await {
        Ok(saved) => {
            let mut flash = format!(
                "SIP settings saved. The domain is {}.",
                saved.settings.domain
            );
            if saved.passwords_cleared > 0 {
                flash.push_str(&format!(
                    " The domain changed, so the passwords of {} extensions were deleted: set \
                     each one again on its extension's page and enter it in the phone.",
                    saved.passwords_cleared
                ));
            }
            page(&state, &portal, None, Some(flash), StatusCode::OK).await
        }
        Err(error) => {
            let mut form = Form::with_values(form.into_values());
            match form.absorb(error, &|f| f.to_string()) {
                Ok(()) => {
                    page(
                        &state,
                        &portal,
                        Some(form),
                        None,
                        StatusCode::UNPROCESSABLE_ENTITY,
                    )
                    .await
                }
                Err(error) => portal.error(&state, error),
            }
        }
    }
}

pub(super) async fn clear_block(
    State(state): State<AppState>,
    Path((_, block)): Path<(String, String)>,
    posted: Posted<PbxPortal>,
) -> Response {
    let portal = posted.ctx;
    let Ok(id) = SipBlockId::parse(&block) else {
        return portal.error(&state, tandem_app::AppError::NotFound("SIP block"));
    };
    match state.app.clear_account_sip_block(&portal.op, &id).await {
        Ok(()) => Redirect::to(&format!("{}/phones", portal.base())).into_response(),
        Err(error) => portal.error(&state, error),
    }
}
