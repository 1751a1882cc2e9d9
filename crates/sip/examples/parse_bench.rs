//! Times parsing of a REGISTER with Authorization.
//!
//! Run with `cargo run --release -p tandem-sip --example parse_bench`; the
//! optional argument is the number of parses (default 200000).

use std::hint::black_box;
use std::time::Instant;

use tandem_sip::msg::{parse_request, Framing};

const REGISTER: &[u8] = b"REGISTER sip:a.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;rport;branch=z9hG4bK-524287-1---a2c4e6f8\r\n\
Max-Forwards: 70\r\n\
Contact: <sip:101@192.0.2.10:5060;rinstance=5c3b2d5d2f;transport=UDP>;expires=3600\r\n\
To: \"Reception\" <sip:101@a.example.com>\r\n\
From: \"Reception\" <sip:101@a.example.com>;tag=9f2e8a61\r\n\
Call-ID: NmQ0ZjE5YWU2NzE0Y2ZiNzM5NjBkNzY2ZTU3MDI3YzI\r\n\
CSeq: 2 REGISTER\r\n\
Expires: 3600\r\n\
Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO, SUBSCRIBE\r\n\
Supported: replaces, norefersub, extended-refer, timer, outbound, path, X-cisco-serviceuri\r\n\
User-Agent: Example Softphone 5.4.2\r\n\
Authorization: Digest username=\"101\",realm=\"a.example.com\",nonce=\"0000000065a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f607\",uri=\"sip:a.example.com\",response=\"2f1e9a0b8c7d6e5f4a3b2c1d0e9f8a7b\",cnonce=\"6b8b4567327b23c6\",nc=00000001,qop=auth,algorithm=MD5\r\n\
Allow-Events: presence, kpml, talk\r\n\
Content-Length: 0\r\n\r\n";

fn main() {
    let iterations: u32 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(200_000);
    parse_request(REGISTER, Framing::Datagram).expect("the benchmark message parses");
    for _ in 0..iterations / 10 {
        black_box(parse_request(black_box(REGISTER), Framing::Datagram).ok());
    }
    let start = Instant::now();
    for _ in 0..iterations {
        black_box(parse_request(black_box(REGISTER), Framing::Datagram).ok());
    }
    let elapsed = start.elapsed();
    let per_parse = elapsed.as_nanos() / u128::from(iterations.max(1));
    println!(
        "{iterations} parses of a {}-byte REGISTER in {elapsed:.2?}: {per_parse} ns/parse",
        REGISTER.len()
    );
}
