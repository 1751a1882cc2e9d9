//! The white label and plan rows that customer creations read before they queue, kept between
//! requests, so that a burst of creations on one plan does not read the same rows once for
//! every creation. A change made through this server drops the white label's pairs.
//!
//! A cached pair may be out of date: a request on another server may have changed the white
//! label or retired the plan since it was read. So the creation writer reads every cached pair
//! of a batch again, on a second connection of its own while the batch's statements run (see
//! [`crate::creation_batch`]). If a pair no longer matches, the batch rolls back, and each of
//! its requests that used the cache prepares its creation again from the database. A creation
//! therefore commits only with settings read after its request arrived, as without the cache.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tandem_domain::{PlanId, WhiteLabelId};
use tandem_store::plans::PlanRow;
use tandem_store::white_labels::WhiteLabelRow;

/// The maximum number of cached pairs. The cache empties itself when full rather than tracking
/// use.
const MAX_ENTRIES: usize = 4_096;

/// A white label and one of its active plans, as read together for a creation.
#[derive(Debug)]
pub(crate) struct CreationContext {
    pub white_label: WhiteLabelRow,
    pub plan: PlanRow,
}

impl CreationContext {
    /// Returns whether the rows read now contain the same settings as these. The white label's
    /// balance is left out: every charge changes it, and the ledger checks it in the
    /// transaction that posts the charges.
    pub(crate) fn matches(&self, white_label: &WhiteLabelRow, plan: Option<&PlanRow>) -> bool {
        let Some(plan) = plan else {
            return false;
        };
        let settings = WhiteLabelRow {
            balance_minor: self.white_label.balance_minor,
            ..white_label.clone()
        };
        settings == self.white_label && *plan == self.plan
    }
}

/// The cached pairs, by white label and plan.
#[derive(Default)]
pub(crate) struct CreationContexts {
    entries: Mutex<HashMap<(WhiteLabelId, PlanId), Arc<CreationContext>>>,
}

impl CreationContexts {
    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<(WhiteLabelId, PlanId), Arc<CreationContext>>> {
        // Every change is one insert, one removal or one clear, so a holder that panicked left
        // the map whole.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Returns the cached pair of `white_label_id` and `plan_id`, if there is one.
    pub(crate) fn get(
        &self,
        white_label_id: &WhiteLabelId,
        plan_id: &PlanId,
    ) -> Option<Arc<CreationContext>> {
        self.lock()
            .get(&(white_label_id.clone(), plan_id.clone()))
            .cloned()
    }

    /// Caches a pair read from the database.
    pub(crate) fn put(&self, context: Arc<CreationContext>) {
        let key = (context.white_label.id.clone(), context.plan.id.clone());
        let mut entries = self.lock();
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, context);
    }

    /// Drops every pair of `white_label_id`. Call it after a change to the white label or one of
    /// its plans commits, so that the next creation reads the rows again rather than rolling a
    /// batch back.
    pub(crate) fn forget_white_label(&self, white_label_id: &WhiteLabelId) {
        self.lock()
            .retain(|(cached, _), _| cached != white_label_id);
    }

    /// Drops `context`, which no longer matches the database, unless the cache already contains a
    /// newer read of the same pair.
    pub(crate) fn forget(&self, context: &Arc<CreationContext>) {
        let key = (context.white_label.id.clone(), context.plan.id.clone());
        let mut entries = self.lock();
        if entries
            .get(&key)
            .is_some_and(|cached| Arc::ptr_eq(cached, context))
        {
            entries.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> CreationContext {
        let white_label_id = WhiteLabelId::new();
        CreationContext {
            white_label: WhiteLabelRow {
                id: white_label_id.clone(),
                name: "Kauri Telecom".into(),
                country: "NZ".into(),
                currency: "NZD".into(),
                support_email: "support@kauri.example".into(),
                support_phone: None,
                primary_colour: "#0b6e4f".into(),
                terms_url: None,
                has_logo: false,
                logo_version: 0,
                tax_name: "GST".into(),
                tax_rate_bp: 1_500,
                show_prices_with_tax: false,
                status: "active".into(),
                balance_minor: 100_000,
                credit_limit_minor: 0,
                version: 1,
                created_us: 1,
                updated_us: 1,
                hosts: vec!["kauri.localhost".into()],
                mail_from_name: None,
                mail_from_address: None,
                webhook_url: None,
            },
            plan: PlanRow {
                id: PlanId::new(),
                white_label_id,
                name: "Business".into(),
                description: "Ten extensions".into(),
                currency: "NZD".into(),
                setup_fee_minor: 4_900,
                monthly_fee_minor: 3_900,
                included_extensions: 10,
                extra_extension_fee_minor: 500,
                number_rental_minor: 500,
                min_opening_credit_minor: 5_000,
                status: "active".into(),
                version: 1,
                created_us: 1,
                updated_us: 1,
                customer_count: 0,
            },
        }
    }

    #[test]
    fn balance_change_still_matches() {
        let cached = context();
        let mut white_label = cached.white_label.clone();
        white_label.balance_minor -= 10_235;
        assert!(cached.matches(&white_label, Some(&cached.plan)));
    }

    #[test]
    fn settings_changes_do_not_match() {
        let cached = context();
        let mut webhook = cached.white_label.clone();
        webhook.webhook_url = Some("https://hooks.kauri.example/tandem".into());
        assert!(!cached.matches(&webhook, Some(&cached.plan)));
        let mut taxed = cached.white_label.clone();
        taxed.tax_rate_bp = 1_000;
        assert!(!cached.matches(&taxed, Some(&cached.plan)));
        let mut retired = cached.plan.clone();
        retired.status = "retired".into();
        assert!(!cached.matches(&cached.white_label, Some(&retired)));
        assert!(
            !cached.matches(&cached.white_label, None),
            "the plan is gone"
        );
    }

    #[test]
    fn forget_keeps_a_newer_read() {
        let contexts = CreationContexts::default();
        let older = Arc::new(context());
        contexts.put(older.clone());
        let newer = Arc::new(CreationContext {
            white_label: older.white_label.clone(),
            plan: older.plan.clone(),
        });
        contexts.put(newer.clone());
        contexts.forget(&older);
        let cached = contexts.get(&older.white_label.id, &older.plan.id);
        assert!(cached.is_some_and(|cached| Arc::ptr_eq(&cached, &newer)));
        contexts.forget(&newer);
        assert!(contexts
            .get(&older.white_label.id, &older.plan.id)
            .is_none());
    }
}
