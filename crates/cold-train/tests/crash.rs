//! Crash safety: a process that dies while writing a checkpoint (an abort injected half-way
//! through the temporary file, or `kill -9` at an arbitrary moment) leaves the previous
//! checkpoint loadable and the run resumable.
//!
//! The crashing processes are this test binary itself, re-run on an `#[ignore]`d helper test
//! with the run directory in `COLD_TRAIN_CRASH_DIR`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use burn::tensor::Device;
use cold_train::{Checkpoint, CheckpointInfo, Trainer};

const DIR_ENV: &str = "COLD_TRAIN_CRASH_DIR";

fn child(test: &str, dir: &Path) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--ignored",
        "--exact",
        test,
        "--nocapture",
        "--test-threads",
        "1",
    ])
    .env(DIR_ENV, dir)
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    cmd
}

fn helper_dir() -> PathBuf {
    PathBuf::from(
        std::env::var_os(DIR_ENV).expect("run by the crash tests, with COLD_TRAIN_CRASH_DIR"),
    )
}

/// A run with a checkpoint at step 2 in `dir`; returns the checkpoint's bytes.
fn run_to_first_checkpoint(dir: &Path) -> Vec<u8> {
    let mut config = common::tiny(dir);
    config.steps = 1000;
    config.checkpoint.every = 2;
    let mut trainer = Trainer::new(config, &[Device::flex()]).unwrap();
    trainer.step().unwrap();
    let ckpt = trainer.step().unwrap().checkpoint.unwrap();
    std::fs::read(ckpt).unwrap()
}

/// After a crash: `latest` is a complete checkpoint of a step ≥ 2 that loads and resumes.
fn assert_recoverable(dir: &Path) -> u64 {
    let latest = dir.join("checkpoints/latest.safetensors");
    let info = CheckpointInfo::read(&latest).unwrap();
    let ckpt = Checkpoint::load(&latest, &Device::flex().autodiff()).unwrap();
    assert_eq!(ckpt.state, info.state);
    let mut resumed = Trainer::resume(dir, &[Device::flex()]).unwrap();
    assert_eq!(resumed.step_count(), info.state.step);
    assert!(resumed.step().unwrap().loss.is_finite());
    info.state.step
}

#[test]
#[ignore = "helper: run by abort_during_a_checkpoint_write_keeps_the_previous_one"]
fn helper_abort_mid_write() {
    let dir = helper_dir();
    let mut trainer = Trainer::resume(&dir, &[Device::flex()]).unwrap();
    trainer.step().unwrap();
    let size = std::fs::metadata(dir.join("checkpoints/latest.safetensors"))
        .unwrap()
        .len();
    cold_train::crash_during_next_write_after(size / 2);
    let _ = trainer.save_checkpoint();
    unreachable!("the write should have aborted the process");
}

#[test]
fn abort_during_a_checkpoint_write_keeps_the_previous_one() {
    let dir = tempfile::tempdir().unwrap();
    let before = run_to_first_checkpoint(dir.path());
    let status = child("helper_abort_mid_write", dir.path())
        .status()
        .unwrap();
    assert!(!status.success(), "the helper should have died: {status:?}");
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(6), "SIGABRT expected: {status:?}");
    }
    // The half-written temporary file is there, `latest` is untouched.
    let ckpts = dir.path().join("checkpoints");
    let temps: Vec<_> = std::fs::read_dir(&ckpts)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert_eq!(temps.len(), 1, "one partial temporary file");
    let partial = temps[0].metadata().unwrap().len();
    assert_eq!(
        partial,
        before.len() as u64 / 2,
        "the helper stops half-way through the file"
    );
    assert_eq!(
        std::fs::read(ckpts.join("latest.safetensors")).unwrap(),
        before
    );
    assert_eq!(assert_recoverable(dir.path()), 2);
}

#[test]
#[ignore = "helper: run by kill_9_at_any_moment_leaves_a_loadable_checkpoint"]
fn helper_checkpoint_forever() {
    let dir = helper_dir();
    let mut trainer = Trainer::resume(&dir, &[Device::flex()]).unwrap();
    loop {
        trainer.step().unwrap();
        for _ in 0..4 {
            trainer.save_checkpoint().unwrap();
        }
    }
}

#[test]
fn kill_9_at_any_moment_leaves_a_loadable_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    run_to_first_checkpoint(dir.path());
    let latest_json = dir.path().join("checkpoints/latest.json");
    // Kill the writer at several moments: mid-step, mid-encode or mid-write, whatever it is
    // doing then.
    for delay_ms in [0u64, 37, 113] {
        let mut proc = child("helper_checkpoint_forever", dir.path())
            .spawn()
            .unwrap();
        let start_step = CheckpointInfo::read(dir.path().join("checkpoints/latest.safetensors"))
            .unwrap()
            .state
            .step;
        // Wait until the helper has replaced the checkpoint at least once.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let step = std::fs::read_to_string(&latest_json)
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                .and_then(|v| v["step"].as_u64())
                .unwrap_or(0);
            if step > start_step {
                break;
            }
            assert!(Instant::now() < deadline, "the helper made no checkpoint");
            assert!(
                proc.try_wait().unwrap().is_none(),
                "the helper exited early"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(delay_ms));
        proc.kill().unwrap(); // SIGKILL
        let status = proc.wait().unwrap();
        assert!(!status.success());
        let step = assert_recoverable(dir.path());
        assert!(step > start_step);
    }
}
