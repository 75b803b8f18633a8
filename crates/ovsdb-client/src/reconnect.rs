//! The connection's life, as a timer-driven state machine with no I/O:
//! when to connect, how long to back off after failures, when an idle
//! connection gets an inactivity probe ("echo") and when a silent one is
//! given up. The caller reports what happened and asks, at the deadline,
//! what to do next.
//!
//! Backoff follows Open vSwitch's clients: every remote of the list gets
//! one try without waiting, then waits double from `min_backoff` up to
//! `max_backoff`; a connection that lived at least as long as the current
//! backoff starts again from `min_backoff`.

use std::time::{Duration, Instant};

/// Timing settings. Open vSwitch's defaults are 1 s / 8 s backoff and a 5 s
/// probe; tests use shorter ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    /// Idle time before an "echo" is sent, and the time then allowed for
    /// any answer. `None` never probes.
    pub probe_interval: Option<Duration>,
    /// How long a connection attempt may take.
    pub connect_timeout: Duration,
}

impl Default for Timing {
    fn default() -> Timing {
        Timing {
            min_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(8),
            probe_interval: Some(Duration::from_secs(5)),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkState {
    /// Waiting before the next attempt.
    Backoff,
    Connecting,
    /// Connected, heard from the peer recently.
    Active,
    /// Connected, probe sent, waiting for any message.
    Idle,
}

/// What the owner must do now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkAction {
    Connect,
    /// Send an inactivity probe.
    Probe,
    /// Drop the connection (or the attempt): the peer is silent or the
    /// attempt took too long.
    Disconnect(Timeout),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timeout {
    Connect,
    Probe,
}

#[derive(Clone, Debug)]
pub struct Reconnect {
    timing: Timing,
    state: LinkState,
    /// When `state` was entered.
    entered: Instant,
    backoff: Duration,
    /// Attempts left that need not wait (one per remote after a reset).
    free_tries: usize,
    last_activity: Instant,
    /// When the present (or last) connection came up.
    connected_at: Instant,
    n_remotes: usize,
}

impl Reconnect {
    /// Starts out ready to connect at once.
    pub fn new(now: Instant, timing: Timing, n_remotes: usize) -> Reconnect {
        Reconnect {
            timing,
            state: LinkState::Backoff,
            entered: now,
            backoff: Duration::ZERO,
            free_tries: n_remotes.max(1),
            last_activity: now,
            connected_at: now,
            n_remotes: n_remotes.max(1),
        }
    }

    pub fn state(&self) -> LinkState {
        self.state
    }

    pub fn timing(&self) -> Timing {
        self.timing
    }

    pub fn set_timing(&mut self, timing: Timing) {
        self.timing = timing;
        self.backoff = self.backoff.min(timing.max_backoff);
    }

    /// The current backoff (the wait before the next attempt while in
    /// [`LinkState::Backoff`]).
    pub fn backoff(&self) -> Duration {
        self.backoff
    }

    pub fn is_connected(&self) -> bool {
        matches!(self.state, LinkState::Active | LinkState::Idle)
    }

    /// When [`Reconnect::run`] has something to say, if ever.
    pub fn deadline(&self) -> Option<Instant> {
        match self.state {
            LinkState::Backoff => Some(self.entered + self.backoff),
            LinkState::Connecting => Some(self.entered + self.timing.connect_timeout),
            LinkState::Active => self.timing.probe_interval.map(|p| self.last_activity.max(self.entered) + p),
            LinkState::Idle => self.timing.probe_interval.map(|p| self.entered + p),
        }
    }

    /// What to do at `now`. A [`LinkAction::Probe`] is acted on here (the
    /// state becomes [`LinkState::Idle`]); for the others the owner reports
    /// back with [`Reconnect::connecting`] or [`Reconnect::failed`].
    pub fn run(&mut self, now: Instant) -> Option<LinkAction> {
        if now < self.deadline()? {
            return None;
        }
        match self.state {
            LinkState::Backoff => Some(LinkAction::Connect),
            LinkState::Connecting => Some(LinkAction::Disconnect(Timeout::Connect)),
            LinkState::Active => {
                self.enter(LinkState::Idle, now);
                Some(LinkAction::Probe)
            }
            LinkState::Idle => Some(LinkAction::Disconnect(Timeout::Probe)),
        }
    }

    pub fn connecting(&mut self, now: Instant) {
        self.enter(LinkState::Connecting, now);
    }

    pub fn connected(&mut self, now: Instant) {
        self.last_activity = now;
        self.connected_at = now;
        self.enter(LinkState::Active, now);
    }

    /// Something arrived from the peer.
    pub fn activity(&mut self, now: Instant) {
        self.last_activity = now;
        if self.state == LinkState::Idle {
            self.enter(LinkState::Active, now);
        }
    }

    /// The attempt failed or the connection ended: back off.
    pub fn failed(&mut self, now: Instant) {
        let was_up = self.is_connected();
        if self.free_tries > 1 {
            self.free_tries -= 1;
            self.backoff = Duration::ZERO;
        } else if (was_up && self.last_activity.saturating_duration_since(self.connected_at) >= self.backoff)
            || self.backoff < self.timing.min_backoff
        {
            // A connection that lasted starts the backoff over.
            self.backoff = self.timing.min_backoff;
        } else {
            self.backoff = (self.backoff * 2).min(self.timing.max_backoff);
        }
        self.enter(LinkState::Backoff, now);
    }

    /// Lets every remote be tried once more without waiting (before a
    /// reconnection we chose, as after losing a good connection).
    pub fn reset_backoff(&mut self) {
        // The current connection's end consumes one try.
        self.free_tries = self.n_remotes + usize::from(self.is_connected());
    }

    fn enter(&mut self, state: LinkState, now: Instant) {
        self.state = state;
        self.entered = now;
    }
}

/// Short timings for the core's tests: 100 ms to 400 ms backoff, 1 s
/// probe, 500 ms connection timeout.
#[cfg(test)]
pub(crate) fn test_timing() -> Timing {
    Timing {
        min_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_millis(400),
        probe_interval: Some(Duration::from_millis(1000)),
        connect_timeout: Duration::from_millis(500),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing() -> Timing {
        test_timing()
    }

    #[test]
    fn backs_off_after_one_free_try_per_remote() {
        let t0 = Instant::now();
        let mut r = Reconnect::new(t0, timing(), 2);
        assert_eq!(r.run(t0), Some(LinkAction::Connect));
        r.connecting(t0);
        r.failed(t0);
        // Second remote: free.
        assert_eq!(r.backoff(), Duration::ZERO);
        assert_eq!(r.run(t0), Some(LinkAction::Connect));
        r.connecting(t0);
        r.failed(t0);
        let mut now = t0;
        let mut waits = Vec::new();
        for _ in 0..4 {
            let b = r.backoff();
            assert_eq!(r.run(now + b - Duration::from_millis(1)), None);
            now += b;
            assert_eq!(r.run(now), Some(LinkAction::Connect));
            r.connecting(now);
            r.failed(now);
            waits.push(b.as_millis() as u64);
        }
        assert_eq!(waits, vec![100, 200, 400, 400]);
    }

    #[test]
    fn probes_then_gives_up() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut r = Reconnect::new(t0, timing(), 1);
        r.connecting(t0);
        r.connected(ms(10));
        r.activity(ms(500));
        assert_eq!(r.deadline(), Some(ms(1500)));
        assert_eq!(r.run(ms(1499)), None);
        assert_eq!(r.run(ms(1500)), Some(LinkAction::Probe));
        assert_eq!(r.state(), LinkState::Idle);
        // An answer brings it back.
        r.activity(ms(1600));
        assert_eq!(r.state(), LinkState::Active);
        assert_eq!(r.run(ms(2600)), Some(LinkAction::Probe));
        assert_eq!(r.run(ms(3599)), None);
        assert_eq!(r.run(ms(3600)), Some(LinkAction::Disconnect(Timeout::Probe)));
    }

    #[test]
    fn connect_timeout() {
        let t0 = Instant::now();
        let mut r = Reconnect::new(t0, timing(), 1);
        r.connecting(t0);
        assert_eq!(r.run(t0 + Duration::from_millis(499)), None);
        assert_eq!(r.run(t0 + Duration::from_millis(500)), Some(LinkAction::Disconnect(Timeout::Connect)));
    }

    #[test]
    fn long_lived_connection_restarts_from_min_backoff() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut r = Reconnect::new(t0, timing(), 1);
        for _ in 0..4 {
            r.connecting(t0);
            r.failed(t0);
        }
        assert_eq!(r.backoff(), Duration::from_millis(400));
        r.connecting(ms(0));
        r.connected(ms(0));
        r.activity(ms(900));
        r.failed(ms(900));
        assert_eq!(r.backoff(), Duration::from_millis(100));
        // A reset lets the next attempt go at once.
        r.connected(ms(1000));
        r.reset_backoff();
        r.failed(ms(1000));
        assert_eq!(r.backoff(), Duration::ZERO);
    }
}
