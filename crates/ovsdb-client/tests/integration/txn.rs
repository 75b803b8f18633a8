//! Transactions: verify conflicts and the retry loop, increments, locks.

use std::collections::BTreeMap;
use std::convert::Infallible;

use ovsdb_client::typed::Table as _;
use ovsdb_client::{Client, Replica, Transaction, TxnError, nb};
use sandbox::Impl;

use crate::common::{config, connected, within};
use crate::replica::nb_server;

fn counter(r: &Replica) -> Option<(nb::LogicalSwitch, i64)> {
    let s = r.iter::<nb::LogicalSwitch>().find(|s| s.name == "counter")?;
    let n = s.other_config.get("n")?.parse().ok()?;
    Some((s, n))
}

/// Reads the counter, verifies it, writes it plus one.
fn bump(r: &Replica, txn: &mut Transaction) -> Result<i64, Infallible> {
    let (old, n) = counter(r).expect("counter row");
    txn.verify_row(&old, &[nb::logical_switch::OTHER_CONFIG]).expect("verify");
    let mut new = old.clone();
    new.other_config.insert("n".into(), (n + 1).to_string());
    txn.update_row(&new, Some(&old));
    Ok(n + 1)
}

/// Runs `step` `n` times on each client, concurrently; every value the
/// steps returned, sorted.
async fn on_both<F, Fut>(clients: [&Client; 2], n: usize, step: F) -> Vec<i64>
where
    F: Fn(Client) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = i64> + Send,
{
    let tasks = clients.map(|c| {
        let (c, step) = (c.clone(), step.clone());
        tokio::spawn(async move {
            let mut seen = Vec::new();
            for _ in 0..n {
                seen.push(step(c.clone()).await);
            }
            seen
        })
    });
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("client task"));
    }
    all.sort();
    all
}

async fn verify_conflict_and_retry(imp: Impl) {
    let dir = tempfile::tempdir().unwrap();
    let server = nb_server(imp, dir.path());
    let cfg = || config(nb::DATABASE, vec![server.remote()]).monitor_typed::<nb::LogicalSwitch>();
    let (a, b) = (connected(cfg()).await, connected(cfg()).await);
    let mut txn = Transaction::new(nb::DATABASE);
    txn.insert_row(&nb::LogicalSwitch {
        name: "counter".into(),
        other_config: BTreeMap::from([("n".into(), "0".into())]),
        ..Default::default()
    });
    within("insert", a.transact(&txn)).await.unwrap();
    within("b to see the counter", b.wait_for(|r| counter(r).is_some())).await.unwrap();

    // b decides on what it read; a changes it first: b must retry.
    let mut stale = Transaction::new(nb::DATABASE);
    bump(&b.replica(), &mut stale).unwrap();
    within("a's bump", a.transact_with_retry(nb::DATABASE, bump)).await.unwrap();
    let err = within("b's stale bump", b.transact(&stale)).await.unwrap_err();
    assert!(matches!(err, TxnError::TryAgain(_)), "{err}");
    assert!(err.is_retryable());

    // Both bump concurrently through the retry loop: nothing is lost.
    const N: i64 = 10;
    let all = on_both([&a, &b], N as usize, |c| async move {
        within("a bump", c.transact_with_retry(nb::DATABASE, bump)).await.unwrap().0
    })
    .await;
    assert_eq!(all, (2..2 + 2 * N).collect::<Vec<_>>());
    // a may not have heard of b's last bump yet.
    within("a to see every bump", a.wait_for(|r| counter(r).map(|c| c.1) == Some(1 + 2 * N))).await.unwrap();
}

async fn increment(imp: Impl) {
    let dir = tempfile::tempdir().unwrap();
    let server = nb_server(imp, dir.path());
    let cfg = || config(nb::DATABASE, vec![server.remote()]).monitor_typed::<nb::NBGlobal>();
    let (a, b) = (connected(cfg()).await, connected(cfg()).await);
    let mut txn = Transaction::new(nb::DATABASE);
    let p = txn.insert_row(&nb::NBGlobal::default());
    let global = within("insert", a.transact(&txn)).await.unwrap().uuid(p).unwrap();
    within("b to see NB_Global", b.wait_for(|r| r.get::<nb::NBGlobal>(global).is_some())).await.unwrap();

    const N: i64 = 10;
    let all = on_both([&a, &b], N as usize, move |c| async move {
        let mut txn = Transaction::new(nb::DATABASE);
        txn.increment(nb::NBGlobal::TABLE, global, nb::nb_global::NB_CFG);
        let value = within("increment", c.transact(&txn)).await.unwrap().increment.unwrap();
        // What `ovn-nbctl --wait` builds on: the replica already shows the
        // new value.
        assert!(c.replica().get::<nb::NBGlobal>(global).unwrap().nb_cfg >= value);
        value
    })
    .await;
    assert_eq!(all, (1..=2 * N).collect::<Vec<_>>());

    // An increment of a row that is not there fails.
    let mut txn = Transaction::new(nb::DATABASE);
    txn.increment(nb::NBGlobal::TABLE, ovsdb::Uuid::random(), nb::nb_global::NB_CFG);
    let err = within("bad increment", a.transact(&txn)).await.unwrap_err();
    assert!(matches!(err, TxnError::Failed { .. }), "{err}");
}

async fn locks_contention(imp: Impl) {
    let dir = tempfile::tempdir().unwrap();
    let server = nb_server(imp, dir.path());
    let cfg = || config(nb::DATABASE, vec![server.remote()]).monitor_typed::<nb::LogicalSwitch>();
    let (a, b) = (connected(cfg()).await, connected(cfg()).await);
    let write = |c: Client, name: &'static str| async move {
        let mut txn = Transaction::new(nb::DATABASE);
        txn.insert_row(&nb::LogicalSwitch { name: name.into(), ..Default::default() });
        within("a write", c.transact(&txn)).await
    };

    a.set_lock(Some("northd"));
    within("a to get the lock", a.wait_lock()).await.unwrap();
    b.set_lock(Some("northd"));
    within("b to learn it is contended", b.wait_until(|s| s.lock.contended)).await.unwrap();
    assert!(!b.lock_status().held);
    assert_eq!(write(b.clone(), "b1").await.unwrap_err(), TxnError::NotLocked("northd".into()));
    write(a.clone(), "a1").await.unwrap();

    // b steals it: a is told, and may no longer write.
    b.steal_lock("northd");
    within("b to hold the lock", b.wait_lock()).await.unwrap();
    within("a to lose the lock", a.wait_until(|s| !s.lock.held && s.lock.contended)).await.unwrap();
    assert_eq!(write(a.clone(), "a2").await.unwrap_err(), TxnError::NotLocked("northd".into()));
    write(b.clone(), "b2").await.unwrap();

    // b lets go: a, still waiting, gets it.
    b.set_lock(None);
    within("a to get the lock back", a.wait_lock()).await.unwrap();
    write(a.clone(), "a3").await.unwrap();
    // b no longer asks for a lock, so it writes freely.
    write(b.clone(), "b3").await.unwrap();

    // a's connection goes away: b, asking again, gets the lock.
    b.set_lock(Some("northd"));
    within("b to wait", b.wait_until(|s| s.lock.contended)).await.unwrap();
    drop(a);
    within("b to get the lock", b.wait_lock()).await.unwrap();
    let names: Vec<String> = b.replica().iter::<nb::LogicalSwitch>().map(|s| s.name).collect();
    assert_eq!(names.len(), 4);
}

crate::against_both!(verify_conflict_and_retry, increment, locks_contention);
