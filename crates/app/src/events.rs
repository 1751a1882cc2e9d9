//! The data of the webhooks Tandem sends to a white label's own systems.

use serde_json::{json, Value};
use tandem_store::customers::CustomerRow;
use tandem_store::payments::PaymentRow;

/// A customer as carried by `customer.*` events.
pub(crate) fn customer_data(customer: &CustomerRow) -> Value {
    json!({
        "customer": {
            "id": customer.id.as_str(),
            "account_number": customer.account_number,
            "status": customer.status,
            "payer": customer.payer,
            "mode": customer.creation_mode,
            "plan_id": customer.plan_id.as_str(),
            "legal_name": customer.legal_name,
            "contact_email": customer.contact_email,
        }
    })
}

/// A payment as carried by `payment.*` events.
pub(crate) fn payment_data(payment: &PaymentRow, state: &str, reason: Option<&str>) -> Value {
    json!({
        "payment": {
            "id": payment.id.as_str(),
            "customer_id": payment.customer_id.as_str(),
            "purpose": payment.purpose,
            "gateway": payment.gateway,
            "amount": {"amount_minor": payment.amount_minor, "currency": payment.currency},
            "state": state,
            "failure_reason": reason,
        }
    })
}
