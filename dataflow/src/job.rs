//! The job driven one epoch at a time by its caller: hand it a batch, get the batch's
//! outputs back. This is how the embedded engine uses it (it must commit each delivery's
//! changes before acknowledging it).
//!
//! With one worker the graph lives on the caller's thread and is stepped in place: a new
//! row then costs no thread hand-off (a channel send, a wake-up of the job thread, and the
//! same back), which on a busy machine was the larger part of one row's latency. With more
//! workers the job runs on its own threads through [`run`], fed by an in-process channel,
//! exactly as a remote feed (Kafka) would drive it. Both build the same graph (`build`)
//! and push batches through the same `Driver`, so they report the same changes.
//!
//! The in-place job holds timely's single-threaded worker, which is not `Send`: a `Job`
//! (and what owns it) stays on the thread that started it.

use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::thread::JoinHandle;
use std::time::Duration;

use timely::communication::Allocator;
use timely::communication::allocator::thread::Thread;
use timely::worker::Worker;

use crate::pipeline::{Config, Driver, Feed, FeedEvent, Input, Output, build, run};

/// Why the job could not take or finish an epoch.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("the dataflow job could not start: {0}")]
    Start(String),
    #[error("the dataflow job stopped")]
    Stopped,
    #[error("the dataflow job failed: {0}")]
    Failed(String),
    #[error("the dataflow job panicked")]
    Panicked,
    #[error("the dataflow job reported epoch {got} while epoch {want} was running")]
    Epoch { got: u64, want: u64 },
}

/// The running job (see the module docs).
pub struct Job(Inner);

enum Inner {
    Local {
        // Boxed: the worker and driver are large beside the threaded variant.
        worker: Box<Worker>,
        driver: Box<Driver>,
        out: Receiver<Output>,
    },
    Threads {
        feed: Option<Sender<Vec<Input>>>,
        out: Receiver<Output>,
        thread: Option<JoinHandle<Result<(), String>>>,
        epoch: u64,
    },
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match &self.0 {
            Inner::Local { .. } => "Job(in place)",
            Inner::Threads { .. } => "Job(threads)",
        })
    }
}

/// The in-process transport of the threaded job.
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

impl Job {
    /// Builds the graph: in place for one worker, on `config.workers` threads otherwise.
    pub fn start(config: Config) -> Result<Job, JobError> {
        if config.workers <= 1 {
            let allocator = Allocator::Thread(Thread::default());
            let mut worker = Worker::new(
                timely::WorkerConfig::default(),
                allocator,
                Some(std::time::Instant::now()),
            );
            let (tx, out) = channel();
            let handles = build(&mut worker, &config, tx);
            return Ok(Job(Inner::Local {
                worker: Box::new(worker),
                driver: Box::new(Driver::new(handles)),
                out,
            }));
        }
        let (feed, feed_rx) = channel();
        let (out_tx, out) = channel();
        let thread = std::thread::Builder::new()
            .name("burnrate-dataflow".into())
            .spawn(move || run(config, ChannelFeed(feed_rx), out_tx))
            .map_err(|e| JobError::Start(e.to_string()))?;
        Ok(Job(Inner::Threads {
            feed: Some(feed),
            out,
            thread: Some(thread),
            epoch: 0,
        }))
    }

    /// Runs `batch` as one epoch; returns its outputs (without the closing `Complete`).
    pub fn epoch(&mut self, batch: Vec<Input>) -> Result<Vec<Output>, JobError> {
        match &mut self.0 {
            Inner::Local {
                worker,
                driver,
                out,
            } => {
                driver.epoch(worker, batch);
                Ok(out.try_iter().collect())
            }
            Inner::Threads {
                feed, out, epoch, ..
            } => {
                let feed = feed.as_ref().ok_or(JobError::Stopped)?;
                feed.send(batch).map_err(|_| JobError::Stopped)?;
                let mut outputs = Vec::new();
                loop {
                    match out.recv().map_err(|_| JobError::Stopped)? {
                        Output::Complete { epoch: e } if e == *epoch => break,
                        Output::Complete { epoch: got } => {
                            return Err(JobError::Epoch { got, want: *epoch });
                        }
                        o @ (Output::DailyCost { epoch: e, .. }
                        | Output::Finding { epoch: e, .. })
                            if e == *epoch =>
                        {
                            outputs.push(o)
                        }
                        Output::DailyCost { epoch: got, .. }
                        | Output::Finding { epoch: got, .. } => {
                            return Err(JobError::Epoch { got, want: *epoch });
                        }
                    }
                }
                *epoch += 1;
                Ok(outputs)
            }
        }
    }

    /// For the in-place job: how long the last epoch took until its rollup changes were
    /// all reported (the signals' part of the epoch runs after). `None` on threads.
    pub fn last_rollup_time(&self) -> Option<std::time::Duration> {
        match &self.0 {
            Inner::Local { driver, .. } => Some(driver.rollup_time()),
            Inner::Threads { .. } => None,
        }
    }

    /// Stops the job and waits for it.
    pub fn close(mut self) -> Result<(), JobError> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<(), JobError> {
        match &mut self.0 {
            // Dropping the worker drops its dataflow; nothing is in flight between epochs.
            Inner::Local { .. } => Ok(()),
            Inner::Threads { feed, thread, .. } => {
                *feed = None;
                match thread.take() {
                    Some(t) => t
                        .join()
                        .map_err(|_| JobError::Panicked)?
                        .map_err(JobError::Failed),
                    None => Ok(()),
                }
            }
        }
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}
