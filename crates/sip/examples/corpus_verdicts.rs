//! Prints the verdict of the parser on every RFC 4475 torture message.
//!
//! Run with `cargo run -p tandem-sip --example corpus_verdicts`.

use tandem_sip::msg::{check_request, looks_like_response, parse_message, Framing, Message};

fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rfc4475");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("corpus folder exists")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "dat"))
        .collect();
    names.sort();
    for path in names {
        let buf = std::fs::read(&path).expect("corpus file is readable");
        let name = path.file_stem().unwrap_or_default().to_string_lossy();
        let verdict = match parse_message(&buf, Framing::Datagram) {
            Ok(Message::Request(request)) => match check_request(&request, &[]) {
                Ok(()) => format!("request {} accepted", request.method),
                Err(rejection) => {
                    format!(
                        "{} {} ({rejection})",
                        rejection.status_code(),
                        rejection.reason_phrase()
                    )
                }
            },
            Ok(Message::Response(response)) => format!("response {} accepted", response.status),
            Err(error) if looks_like_response(&buf) => format!("response dropped ({error})"),
            Err(error) => format!(
                "{} {} ({error})",
                error.status_code(),
                error.reason_phrase()
            ),
        };
        println!("{name:<11} {verdict}");
    }
}
