//! A customer account's port orders: the list, a new order, and the moves between states.
//! The account submits and cancels them. The white label's administrators, who deal with the
//! carriers, schedule, complete and reject them.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use serde::Deserialize;
use tandem_app::numbers::{PortOrderInput, PortTransition, PORT_TRANSITIONS};
use tandem_app::AppError;
use tandem_domain::{PortOrderId, TimeZoneName};
use tandem_store::port_orders::PortOrderRow;

use super::super::forms::Posted;
use super::super::{local_time, render, Chrome, Form};
use super::routing::local_parts;
use super::{
    form_message, form_status, international, merge_list_errors, text_lines, AccountHead,
    AccountPage, NumbersPage,
};
use crate::AppState;

fn port_state_label(state: &str) -> String {
    match state {
        "draft" => "Draft",
        "submitted" => "Submitted",
        "scheduled" => "Scheduled",
        "completed" => "Completed",
        "rejected" => "Rejected",
        "cancelled" => "Cancelled",
        other => other,
    }
    .to_string()
}

/// The transitions a port order offers, by who may take them.
#[derive(Debug, Default, PartialEq, Eq)]
struct OrderActions {
    submit: bool,
    cancel: bool,
    schedule: bool,
    complete: bool,
    reject: bool,
}

impl OrderActions {
    /// Returns the moves allowed from `state`. The carrier-side ones (schedule, complete,
    /// reject) are offered only to the white label's administrators, who deal with the carriers.
    fn of(state: &str, white_label: bool) -> Self {
        let allowed = |to: &str| PORT_TRANSITIONS.contains(&(state, to));
        OrderActions {
            submit: allowed("submitted"),
            cancel: allowed("cancelled"),
            schedule: white_label && allowed("scheduled"),
            complete: white_label && allowed("completed"),
            reject: white_label && allowed("rejected"),
        }
    }

    fn any(&self) -> bool {
        self.submit || self.cancel || self.schedule || self.complete || self.reject
    }
}

/// A port order as a row of the list.
struct OrderLine {
    id: String,
    numbers: Vec<String>,
    carrier: String,
    carrier_account: String,
    state: String,
    state_value: String,
    scheduled: String,
    reason: String,
    created: String,
    actions: OrderActions,
    /// The message of a refused transition of this order.
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "numbers_port_orders.html")]
struct PortOrdersPage {
    chrome: Chrome,
    head: AccountHead,
    orders: Vec<OrderLine>,
    form: Form,
    /// The value of the date inputs: today in the account's time zone.
    today: String,
}

/// The notices that follow a change.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct PortOrdersQuery {
    created: String,
    changed: String,
}

/// The parts of the port orders page besides the list: a failed form.
#[derive(Default)]
struct PortExtras {
    form: Option<Form>,
    order_error: Option<(String, String)>,
    status: Option<StatusCode>,
}

pub(super) async fn port_orders(
    State(state): State<AppState>,
    NumbersPage(page): NumbersPage,
    Query(query): Query<PortOrdersQuery>,
) -> Response {
    port_orders_page(&state, &page, &query, PortExtras::default()).await
}

async fn port_orders_page(
    state: &AppState,
    page: &AccountPage,
    query: &PortOrdersQuery,
    extras: PortExtras,
) -> Response {
    let orders = match state.app.port_orders(&page.op).await {
        Ok(orders) => orders,
        Err(error) => return page.error(state, error),
    };
    let zone = &page.customer.time_zone;
    let white_label = page.op.is_white_label();
    let lines: Vec<OrderLine> = orders
        .iter()
        .map(|order| {
            let id = order.id.to_string();
            let error = extras
                .order_error
                .as_ref()
                .filter(|(failed, _)| *failed == id)
                .map(|(_, message)| message.clone());
            OrderLine {
                numbers: order.numbers.iter().map(|n| international(n)).collect(),
                carrier: order.losing_carrier.clone(),
                carrier_account: order.carrier_account.clone().unwrap_or_default(),
                state: port_state_label(&order.state),
                state_value: order.state.clone(),
                scheduled: order.scheduled_date.clone().unwrap_or_default(),
                reason: order.reason.clone().unwrap_or_default(),
                created: local_time(order.created_us, zone),
                actions: OrderActions::of(&order.state, white_label),
                error,
                id,
            }
        })
        .collect();
    let mut chrome = page.chrome(
        state,
        &format!("Port orders of {}", page.customer.legal_name),
    );
    chrome.flash = port_notice(query, &orders);
    let today = TimeZoneName::parse(zone)
        .map(|zone| local_parts(Timestamp::now(), &zone).0)
        .unwrap_or_default();
    let view = PortOrdersPage {
        chrome,
        head: page.head(),
        orders: lines,
        form: extras.form.unwrap_or_default(),
        today,
    };
    (extras.status.unwrap_or(StatusCode::OK), render(&view)).into_response()
}

/// Builds the notice after a change that redirected back to the list, when the query names
/// one of the account's orders.
fn port_notice(query: &PortOrdersQuery, orders: &[PortOrderRow]) -> Option<String> {
    let find = |id: &str| orders.iter().find(|o| o.id.as_str() == id);
    if let Some(order) = find(&query.created) {
        return Some(format!(
            "The port order for {} is saved as a draft. Submit it when the details are right; \
             the numbers can be routed now and take calls once the port completes.",
            order
                .numbers
                .iter()
                .map(|n| international(n))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    find(&query.changed).map(|order| {
        format!(
            "The port order from {} is now {}.",
            order.losing_carrier,
            port_state_label(&order.state).to_lowercase()
        )
    })
}

pub(super) async fn create_port_order(
    State(state): State<AppState>,
    posted: Posted<NumbersPage>,
) -> Response {
    let Posted {
        ctx: NumbersPage(page),
        form: fields,
    } = posted;
    let numbers: Vec<String> = text_lines(fields.get("numbers"))
        .into_iter()
        .map(|(_, line)| line)
        .collect();
    let input = PortOrderInput {
        numbers: numbers.clone(),
        losing_carrier: fields.get("losing_carrier").to_string(),
        carrier_account: fields.optional("carrier_account"),
    };
    match state.app.create_port_order(&page.op, &input).await {
        Ok(order) => {
            let query =
                serde_urlencoded::to_string([("created", order.id.as_str())]).unwrap_or_default();
            Redirect::to(&format!("{}/port-orders?{query}", page.head().base)).into_response()
        }
        Err(error) => {
            let status = form_status(&error);
            let error = merge_list_errors(error, "numbers", &numbers);
            let mut form = Form::with_values(fields.into_values());
            match form.absorb(error, &|f| f.to_string()) {
                Ok(()) => {
                    let extras = PortExtras {
                        form: Some(form),
                        status: Some(status),
                        ..PortExtras::default()
                    };
                    port_orders_page(&state, &page, &PortOrdersQuery::default(), extras).await
                }
                Err(error) => page.error(&state, error),
            }
        }
    }
}

pub(super) async fn transition_port_order(
    State(state): State<AppState>,
    Path((_, order)): Path<(String, String)>,
    posted: Posted<NumbersPage>,
) -> Response {
    let Posted {
        ctx: NumbersPage(page),
        form: fields,
    } = posted;
    let Ok(order_id) = PortOrderId::parse(&order) else {
        return page.error(&state, AppError::NotFound("port order"));
    };
    let input = PortTransition {
        to: fields.get("to").to_string(),
        date: fields.optional("date"),
        reason: fields.optional("reason"),
    };
    let result = state
        .app
        .transition_port_order(
            &page.session.principal,
            &page.white_label.id,
            page.op.customer_id(),
            &order_id,
            &input,
        )
        .await;
    match result {
        Ok(_) => {
            let query =
                serde_urlencoded::to_string([("changed", order_id.as_str())]).unwrap_or_default();
            Redirect::to(&format!("{}/port-orders?{query}", page.head().base)).into_response()
        }
        Err(error) => {
            let status = form_status(&error);
            let mut form = Form::default();
            match form.absorb(error, &|f| f.to_string()) {
                Ok(()) => {
                    let extras = PortExtras {
                        order_error: Some((order_id.to_string(), form_message(&form))),
                        status: Some(status),
                        ..PortExtras::default()
                    };
                    port_orders_page(&state, &page, &PortOrdersQuery::default(), extras).await
                }
                Err(error) => page.error(&state, error),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_actions_by_state_and_side() {
        let account = |state| OrderActions::of(state, false);
        let white_label = |state| OrderActions::of(state, true);
        assert!(account("draft").submit);
        assert!(account("draft").cancel);
        assert!(!account("submitted").schedule);
        assert!(!account("submitted").reject);
        assert!(white_label("submitted").schedule);
        assert!(white_label("submitted").reject);
        assert!(!white_label("submitted").complete);
        assert!(white_label("scheduled").complete);
        assert!(!white_label("completed").any());
        assert!(!account("rejected").any());
    }
}
