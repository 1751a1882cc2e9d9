//! Adapters that carry Tandem's outgoing mail and webhooks out of the process: an SMTP client,
//! a folder of `.eml` files for development, and an HTTP client for webhooks. Each implements
//! a transport trait of `tandem_app::outbox`, which the outbox worker drives.

mod folder;
mod message;
mod smtp;
mod webhook;

pub use folder::FolderTransport;
pub use message::build_message;
pub use smtp::{SmtpSecurity, SmtpSettings, SmtpTransport};
pub use webhook::HttpWebhookSender;
