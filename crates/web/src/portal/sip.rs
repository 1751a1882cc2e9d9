//! SIP for a white label (`/sip`: its SIP domain and the blocks started against its accounts)
//! and for the platform (`/platform/sip`: every block).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use tandem_app::sip::BlockView;
use tandem_app::AppError;
use tandem_domain::SipBlockId;

use super::forms::Posted;
use super::{error_page, render, Chrome, Form, PlatformPortal, WhiteLabelPortal};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/sip", get(show))
        .route("/sip/domain", post(save_domain))
        .route("/sip/blocks/{block_id}/clear", post(clear))
        .route("/platform/sip", get(show_platform))
        .route(
            "/platform/sip/blocks/{block_id}/clear",
            post(clear_platform),
        )
}

#[derive(Template)]
#[template(path = "sip.html")]
struct SipPage {
    chrome: Chrome,
    /// The white label's SIP domain form; `None` on the platform page.
    domain: Option<Form>,
    blocks: Vec<BlockView>,
    /// The path prefix of each block's Lift form, before `/{id}/clear`.
    blocks_base: &'static str,
}

async fn page(
    state: &AppState,
    portal: &WhiteLabelPortal,
    form: Option<Form>,
    flash: Option<String>,
    status: StatusCode,
) -> Response {
    let principal = &portal.session.principal;
    let wl = &portal.white_label.id;
    let loaded = async {
        let domain = state.app.white_label_sip(principal, wl).await?;
        let blocks = state.app.sip_blocks(principal, Some(wl)).await?;
        Ok::<_, AppError>((domain, blocks))
    }
    .await;
    let (domain, blocks) = match loaded {
        Ok(loaded) => loaded,
        Err(error) => return error_page(state, &portal.session.brand, error),
    };
    let form = form.unwrap_or_else(|| {
        let mut form = Form::default();
        form.values.insert("sip_domain".into(), domain);
        form
    });
    let mut chrome = portal.chrome(state, "SIP", "/sip");
    chrome.flash = flash;
    let page = SipPage {
        chrome,
        domain: Some(form),
        blocks,
        blocks_base: "/sip/blocks",
    };
    (status, render(&page)).into_response()
}

async fn show(State(state): State<AppState>, portal: WhiteLabelPortal) -> Response {
    page(&state, &portal, None, None, StatusCode::OK).await
}

async fn save_domain(State(state): State<AppState>, posted: Posted<WhiteLabelPortal>) -> Response {
    let Posted { ctx: portal, form } = posted;
    let principal = &portal.session.principal;
    match state
        .app
        .set_white_label_sip(principal, &portal.white_label.id, form.get("sip_domain"))
        .await
    {
        Ok((domain, cleared)) => {
            let mut flash = format!("The SIP domain is {domain}.");
            if cleared > 0 {
                flash.push_str(&format!(
                    " Every account's domain changed with it, so the passwords of {cleared} \
                     extensions were deleted: set each one again and enter it in the phone."
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
                Err(error) => error_page(&state, &portal.session.brand, error),
            }
        }
    }
}

fn block_id(raw: &str) -> Result<SipBlockId, AppError> {
    SipBlockId::parse(raw).map_err(|_| AppError::NotFound("SIP block"))
}

async fn clear(
    State(state): State<AppState>,
    Path(block): Path<String>,
    posted: Posted<WhiteLabelPortal>,
) -> Response {
    let portal = posted.ctx;
    let cleared = async {
        let id = block_id(&block)?;
        state
            .app
            .clear_sip_block(&portal.session.principal, Some(&portal.white_label.id), &id)
            .await
    }
    .await;
    match cleared {
        Ok(()) => Redirect::to("/sip").into_response(),
        Err(error) => error_page(&state, &portal.session.brand, error),
    }
}

async fn show_platform(State(state): State<AppState>, portal: PlatformPortal) -> Response {
    let blocks = match state.app.sip_blocks(&portal.session.principal, None).await {
        Ok(blocks) => blocks,
        Err(error) => return error_page(&state, &portal.session.brand, error),
    };
    let page = SipPage {
        chrome: portal.chrome(&state, "SIP", "/platform/sip"),
        domain: None,
        blocks,
        blocks_base: "/platform/sip/blocks",
    };
    render(&page).into_response()
}

async fn clear_platform(
    State(state): State<AppState>,
    Path(block): Path<String>,
    posted: Posted<PlatformPortal>,
) -> Response {
    let portal = posted.ctx;
    let cleared = async {
        let id = block_id(&block)?;
        state
            .app
            .clear_sip_block(&portal.session.principal, None, &id)
            .await
    }
    .await;
    match cleared {
        Ok(()) => Redirect::to("/platform/sip").into_response(),
        Err(error) => error_page(&state, &portal.session.brand, error),
    }
}
