//! Property tests: no input makes the parser or the error-response builder
//! panic, whether random bytes or mutations of the RFC 4475 corpus.

use proptest::prelude::*;
use tandem_sip::msg::{error_response, parse_message, Framing, Message};

fn corpus() -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rfc4475");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "dat"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| std::fs::read(path).unwrap())
        .collect()
}

/// Parses with both framings, prints what parses, and builds an error
/// response for what does not.
fn exercise(buf: &[u8]) {
    for framing in [Framing::Datagram, Framing::Stream] {
        match parse_message(buf, framing) {
            Ok(Message::Request(request)) => {
                let printed = request.to_bytes();
                assert!(
                    parse_message(&printed, Framing::Stream).is_ok(),
                    "printed request reparses"
                );
            }
            Ok(Message::Response(response)) => {
                let printed = response.to_bytes();
                assert!(
                    parse_message(&printed, Framing::Stream).is_ok(),
                    "printed response reparses"
                );
            }
            Err(error) => {
                let _ = error_response(buf, error.status_code(), &error.reason_phrase(), "t");
            }
        }
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Truncate(usize),
    Duplicate(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let interesting = prop_oneof![
        Just(b'\r'),
        Just(b'\n'),
        Just(b' '),
        Just(b':'),
        Just(b';'),
        Just(b','),
        Just(b'"'),
        Just(b'<'),
        Just(b'>'),
        Just(b'%'),
        Just(b'@'),
        Just(b'['),
        Just(0u8),
        Just(0xffu8),
        any::<u8>(),
    ];
    prop_oneof![
        (any::<usize>(), interesting.clone()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<usize>(), interesting).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Delete),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::Duplicate(a, b)),
    ]
}

fn apply(buf: &mut Vec<u8>, mutation: &Mutation) {
    if buf.is_empty() {
        return;
    }
    let len = buf.len();
    match *mutation {
        Mutation::Flip(i, b) => buf[i % len] = b,
        Mutation::Insert(i, b) => buf.insert(i % (len + 1), b),
        Mutation::Delete(i) => {
            buf.remove(i % len);
        }
        Mutation::Truncate(i) => buf.truncate(i % (len + 1)),
        Mutation::Duplicate(a, b) => {
            let (start, end) = ((a % len).min(b % len), (a % len).max(b % len));
            let copy = buf[start..end].to_vec();
            buf.splice(end..end, copy);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn parser_survives_random_bytes(buf in proptest::collection::vec(any::<u8>(), 0..600)) {
        exercise(&buf);
    }

    #[test]
    fn parser_survives_random_text(text in "[A-Za-z0-9 :;,<>\"@%./=\\r\\n\\t\\\\é€-]{0,400}") {
        exercise(text.as_bytes());
    }

    #[test]
    fn parser_survives_random_header_values(
        name in prop_oneof![
            Just("Via"), Just("v"), Just("From"), Just("To"), Just("Contact"), Just("m"),
            Just("CSeq"), Just("Call-ID"), Just("Max-Forwards"), Just("Content-Type"),
            Just("Authorization"), Just("Require"), Just("Route"), Just("Date"), Just("X-Any"),
        ],
        value in "[A-Za-z0-9 :;,<>\"@%./=?&\\[\\]\\\\é*-]{0,120}",
    ) {
        let message = format!(
            "REGISTER sip:a.example SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\
From: <sip:a@a.example>;tag=1\r\nTo: <sip:a@a.example>\r\nCall-ID: c\r\n\
CSeq: 1 REGISTER\r\n{name}: {value}\r\nContent-Length: 0\r\n\r\n"
        );
        exercise(message.as_bytes());
    }

    #[test]
    fn parser_survives_corpus_mutations(
        index in 0usize..49,
        mutations in proptest::collection::vec(mutation(), 1..8),
    ) {
        let files = corpus();
        let mut buf = files[index % files.len()].clone();
        for mutation in &mutations {
            apply(&mut buf, mutation);
        }
        exercise(&buf);
    }
}
