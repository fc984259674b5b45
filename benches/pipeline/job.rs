//! The job driven one delivery per epoch for figure 2: in place (`dataflow::Job`, as the
//! engine runs it) or on its own thread through `run` and channels (the path a remote
//! feed takes), to show what the two thread hand-offs per epoch cost.

use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::Duration;

use burnrate_dataflow::{Config, Feed, FeedEvent, Input, Job, Output, Prepared};

/// The engine's old transport, kept to measure the threaded path: a batch is taken as
/// soon as it is sent; after 20 ms without one the job is told it is idle.
struct ChannelFeed(Receiver<Vec<Input>>);

impl Feed for ChannelFeed {
    fn next(&mut self) -> FeedEvent {
        match self.0.recv_timeout(Duration::from_millis(20)) {
            Ok(batch) => FeedEvent::Batch(batch),
            Err(RecvTimeoutError::Timeout) => FeedEvent::Idle,
            Err(RecvTimeoutError::Disconnected) => FeedEvent::Closed,
        }
    }
}

/// The job driven one epoch at a time: in place (`dataflow::Job`, one worker, as the
/// engine drives it) or on its own thread through `run` and channels.
enum Driven {
    InPlace(Job),
    Thread {
        feed: Option<Sender<Vec<Input>>>,
        out: Receiver<Output>,
        thread: Option<std::thread::JoinHandle<Result<(), String>>>,
    },
}

pub struct Bench {
    job: Driven,
    next_delivery: u64,
}

impl Bench {
    pub fn in_place() -> Bench {
        let job = Job::start(Config::workers(1)).unwrap_or_else(|e| panic!("job: {e}"));
        Bench {
            job: Driven::InPlace(job),
            next_delivery: 1,
        }
    }

    pub fn on_a_thread() -> Bench {
        let (feed_tx, feed_rx) = channel();
        let (out_tx, out_rx) = channel();
        let thread = std::thread::spawn(move || {
            burnrate_dataflow::run(Config::workers(1), ChannelFeed(feed_rx), out_tx)
        });
        Bench {
            job: Driven::Thread {
                feed: Some(feed_tx),
                out: out_rx,
                thread: Some(thread),
            },
            next_delivery: 1,
        }
    }

    /// Sends one delivery as one epoch and waits for its end; returns the number of
    /// rollup rows that changed.
    pub fn deliver(&mut self, prepared: Prepared) -> usize {
        let delivery = self.next_delivery;
        self.next_delivery += 1;
        let batch = vec![
            Input::Parts {
                delivery,
                parts: prepared.parts,
            },
            Input::Complete { delivery },
        ];
        let count =
            |o: &Output| usize::from(matches!(o, Output::DailyCost { diff, .. } if *diff > 0));
        match &mut self.job {
            Driven::InPlace(job) => match job.epoch(batch) {
                Ok(outputs) => outputs.iter().map(count).sum(),
                Err(e) => panic!("job: {e}"),
            },
            Driven::Thread { feed, out, .. } => {
                if feed
                    .as_ref()
                    .map(|f| f.send(batch))
                    .is_none_or(|r| r.is_err())
                {
                    panic!("the job stopped");
                }
                let mut changed = 0;
                loop {
                    match out.recv() {
                        Ok(Output::Complete { .. }) => return changed,
                        Ok(o) => changed += count(&o),
                        Err(_) => panic!("the job stopped"),
                    }
                }
            }
        }
    }

    /// For the in-place job: how long the last epoch took until its rollup changes were
    /// out (before the signals' part of the epoch).
    pub fn rollup_time(&self) -> Option<Duration> {
        match &self.job {
            Driven::InPlace(job) => job.last_rollup_time(),
            Driven::Thread { .. } => None,
        }
    }

    pub fn close(self) {
        match self.job {
            Driven::InPlace(job) => {
                if let Err(e) = job.close() {
                    panic!("job: {e}");
                }
            }
            Driven::Thread {
                mut feed,
                mut thread,
                ..
            } => {
                feed.take();
                if let Some(t) = thread.take() {
                    match t.join() {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => panic!("job: {e}"),
                        Err(_) => panic!("job panicked"),
                    }
                }
            }
        }
    }
}
