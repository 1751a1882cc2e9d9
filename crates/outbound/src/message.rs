//! Builds RFC 5322 messages from outgoing mail.

use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{Address, Message};
use tandem_app::outbox::{DeliveryError, OutgoingMail};

fn mailbox(name: Option<&str>, address: &str, role: &str) -> Result<Mailbox, DeliveryError> {
    let address: Address = address.trim().parse().map_err(|error| {
        DeliveryError::permanent(format!(
            "the {role} address '{address}' is invalid: {error}"
        ))
    })?;
    Ok(Mailbox::new(name.map(str::to_string), address))
}

/// Builds the message of `mail`: From, Reply-To, To, Subject, Date and Message-ID headers and
/// a `multipart/alternative` body with the text and HTML parts (text alone when there is no
/// HTML part). An invalid address is a permanent error.
pub fn build_message(mail: &OutgoingMail) -> Result<Message, DeliveryError> {
    let mut builder = Message::builder()
        .from(mailbox(
            Some(&mail.from_name),
            &mail.from_address,
            "sender",
        )?)
        .to(mailbox(None, &mail.to, "recipient")?)
        .subject(mail.subject.clone())
        .message_id(Some(mail.message_id.clone()))
        .date_now();
    if let Some(reply_to) = &mail.reply_to {
        builder = builder.reply_to(mailbox(None, reply_to, "Reply-To")?);
    }
    let built = match &mail.html {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(
            mail.text.clone(),
            html.clone(),
        )),
        None => builder.singlepart(SinglePart::plain(mail.text.clone())),
    };
    built.map_err(|error| DeliveryError::permanent(format!("the message is invalid: {error}")))
}
