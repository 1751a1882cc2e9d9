use super::*;
use crate::msg::{parse_request, Framing};
use crate::transaction::test_support::*;

fn start(reliability: Reliability) -> (ServerInvite, Vec<Action>, Instant) {
    let bytes = request("INVITE", "z9hG4bKsrv");
    let parsed = parse_request(&bytes, Framing::Datagram).unwrap();
    let (tx, actions) = ServerInvite::start(&parsed, None, reliability, TimerConfig::default());
    (tx, actions, Instant::now())
}

fn feed(tx: &mut ServerInvite, method: &str, now: Instant) -> Vec<Action> {
    let bytes = request(method, "z9hG4bKsrv");
    let parsed = parse_request(&bytes, Framing::Datagram).unwrap();
    tx.on_request(&parsed, now)
}

#[test]
fn server_invite_sends_trying_and_passes_up() {
    let (_, actions, _) = start(Reliability::Unreliable);
    assert_eq!(actions[0], Action::PassToTu);
    assert!(first_transmitted(&actions).starts_with("SIP/2.0 100 Trying\r\n"));
}

#[test]
fn server_invite_retransmission_gets_last_provisional() {
    let (mut tx, _, t0) = start(Reliability::Unreliable);
    tx.send_response(180, response(180, "INVITE", "z9hG4bKsrv"), t0);
    let actions = feed(&mut tx, "INVITE", at(t0, 100));
    assert!(first_transmitted(&actions).starts_with("SIP/2.0 180 "));
}

#[test]
fn server_invite_timer_g_then_h() {
    let (mut tx, _, t0) = start(Reliability::Unreliable);
    let actions = tx.send_response(486, response(486, "INVITE", "z9hG4bKsrv"), t0);
    assert_eq!(transmissions(&actions), 1);
    assert_eq!(scheduled(&actions, Timer::G, t0), [500]);
    assert_eq!(scheduled(&actions, Timer::H, t0), [32_000]);
    let mut fired = Vec::new();
    let mut now_ms = 500;
    while now_ms < 32_000 {
        let actions = tx.on_timer(at(t0, now_ms));
        assert!(first_transmitted(&actions).starts_with("SIP/2.0 486 "));
        fired.push(now_ms);
        now_ms = scheduled(&actions, Timer::G, t0)[0];
    }
    assert_eq!(
        fired,
        [500, 1_500, 3_500, 7_500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500]
    );
    assert_eq!(
        tx.on_timer(at(t0, 32_000)),
        [Action::Timeout, Action::Terminated]
    );
}

#[test]
fn server_invite_completed_resends_final_on_retransmission() {
    let (mut tx, _, t0) = start(Reliability::Unreliable);
    tx.send_response(404, response(404, "INVITE", "z9hG4bKsrv"), t0);
    let actions = feed(&mut tx, "INVITE", at(t0, 200));
    assert!(first_transmitted(&actions).starts_with("SIP/2.0 404 "));
}

#[test]
fn server_invite_ack_confirms_and_timer_i_terminates() {
    let (mut tx, _, t0) = start(Reliability::Unreliable);
    tx.send_response(404, response(404, "INVITE", "z9hG4bKsrv"), t0);
    let actions = feed(&mut tx, "ACK", at(t0, 700));
    assert_eq!(tx.state(), ServerInviteState::Confirmed);
    assert_eq!(scheduled(&actions, Timer::I, t0), [5_700]);
    assert!(
        tx.on_timer(at(t0, 1_000)).is_empty(),
        "timer G stopped by the ACK"
    );
    assert!(
        feed(&mut tx, "ACK", at(t0, 1_000)).is_empty(),
        "ACK copies absorbed"
    );
    assert_eq!(tx.on_timer(at(t0, 5_700)), [Action::Terminated]);
}

#[test]
fn server_invite_reliable_skips_g_and_i() {
    let (mut tx, _, t0) = start(Reliability::Reliable);
    let actions = tx.send_response(603, response(603, "INVITE", "z9hG4bKsrv"), t0);
    assert!(scheduled(&actions, Timer::G, t0).is_empty());
    assert_eq!(scheduled(&actions, Timer::H, t0), [32_000]);
    assert_eq!(feed(&mut tx, "ACK", at(t0, 10)), [Action::Terminated]);
}

#[test]
fn server_invite_2xx_terminates() {
    let (mut tx, _, t0) = start(Reliability::Unreliable);
    let actions = tx.send_response(200, response(200, "INVITE", "z9hG4bKsrv"), t0);
    assert_eq!(actions.last(), Some(&Action::Terminated));
    assert!(tx
        .send_response(200, response(200, "INVITE", "z9hG4bKsrv"), t0)
        .is_empty());
}
