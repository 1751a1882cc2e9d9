use super::*;
use crate::msg::parse_response;
use crate::transaction::test_support::*;

fn start(reliability: Reliability) -> (ClientInvite, Vec<Action>, Instant) {
    let now = Instant::now();
    let (tx, actions) = ClientInvite::start(
        request("INVITE", "z9hG4bKinv"),
        reliability,
        TimerConfig::default(),
        now,
    )
    .unwrap();
    (tx, actions, now)
}

fn feed(tx: &mut ClientInvite, status: u16, now: Instant) -> Vec<Action> {
    let bytes = response(status, "INVITE", "z9hG4bKinv");
    let parsed = parse_response(&bytes, Framing::Stream).unwrap();
    tx.on_response(&parsed, now)
}

#[test]
fn client_invite_timer_a_doubles_until_timer_b() {
    let (mut tx, actions, t0) = start(Reliability::Unreliable);
    assert_eq!(transmissions(&actions), 1);
    assert_eq!(scheduled(&actions, Timer::A, t0), [500]);
    assert_eq!(scheduled(&actions, Timer::B, t0), [32_000]);
    let mut fired = Vec::new();
    let mut now_ms = 500;
    while now_ms < 32_000 {
        let actions = tx.on_timer(at(t0, now_ms));
        assert_eq!(transmissions(&actions), 1, "retransmit at {now_ms} ms");
        fired.push(now_ms);
        now_ms = scheduled(&actions, Timer::A, t0)[0];
    }
    assert_eq!(fired, [500, 1_500, 3_500, 7_500, 15_500, 31_500]);
    let actions = tx.on_timer(at(t0, 32_000));
    assert!(actions.contains(&Action::Timeout));
    assert!(actions.contains(&Action::Terminated));
    assert_eq!(tx.state(), ClientInviteState::Terminated);
}

#[test]
fn client_invite_reliable_has_no_timer_a() {
    let (mut tx, actions, t0) = start(Reliability::Reliable);
    assert!(scheduled(&actions, Timer::A, t0).is_empty());
    assert_eq!(transmissions(&tx.on_timer(at(t0, 31_999))), 0);
    assert!(tx.on_timer(at(t0, 32_000)).contains(&Action::Timeout));
}

#[test]
fn client_invite_provisional_stops_retransmissions() {
    let (mut tx, _, t0) = start(Reliability::Unreliable);
    assert_eq!(feed(&mut tx, 180, at(t0, 100)), [Action::PassToTu]);
    assert_eq!(tx.state(), ClientInviteState::Proceeding);
    assert!(
        tx.on_timer(at(t0, 40_000)).is_empty(),
        "neither A nor B acts in Proceeding"
    );
}

#[test]
fn client_invite_2xx_terminates_without_ack() {
    let (mut tx, _, t0) = start(Reliability::Unreliable);
    let actions = feed(&mut tx, 200, at(t0, 100));
    assert_eq!(actions, [Action::PassToTu, Action::Terminated]);
}

#[test]
fn client_invite_failure_acks_then_timer_d() {
    let (mut tx, _, t0) = start(Reliability::Unreliable);
    feed(&mut tx, 180, at(t0, 100));
    let actions = feed(&mut tx, 486, at(t0, 200));
    let ack = first_transmitted(&actions);
    assert!(ack.starts_with("ACK sip:bob@example.com SIP/2.0\r\n"));
    assert!(ack.contains("\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKinv\r\n"));
    assert!(ack.contains("\r\nTo: <sip:bob@example.com>;tag=b2\r\n"));
    assert!(ack.contains("\r\nRoute: <sip:proxy.example.com;lr>\r\n"));
    assert!(ack.contains("\r\nCSeq: 1 ACK\r\n"));
    assert!(crate::msg::parse_request(ack.as_bytes(), Framing::Stream).is_ok());
    assert!(actions.contains(&Action::PassToTu));
    assert_eq!(scheduled(&actions, Timer::D, t0), [32_200]);
    assert_eq!(tx.state(), ClientInviteState::Completed);

    let again = feed(&mut tx, 486, at(t0, 1_000));
    assert_eq!(
        transmissions(&again),
        1,
        "retransmitted final is acknowledged again"
    );
    assert!(!again.contains(&Action::PassToTu), "and not passed up");

    assert!(tx.on_timer(at(t0, 32_199)).is_empty());
    assert_eq!(tx.on_timer(at(t0, 32_200)), [Action::Terminated]);
}

#[test]
fn client_invite_reliable_failure_terminates_at_once() {
    let (mut tx, _, t0) = start(Reliability::Reliable);
    let actions = feed(&mut tx, 500, at(t0, 100));
    assert_eq!(transmissions(&actions), 1);
    assert_eq!(actions.last(), Some(&Action::Terminated));
}

#[test]
fn client_invite_transport_error_in_calling() {
    let (mut tx, _, _) = start(Reliability::Unreliable);
    assert_eq!(
        tx.on_transport_error(),
        [Action::TransportError, Action::Terminated]
    );
}
