//! End-to-end training on the bundled MNIST: the loss falls, logs and sample grids are written,
//! a diverging run stops with the step, checkpoints round-trip and feed sampling.

mod common;

use burn::tensor::Device;
use cold_degrade::Draw;
use cold_train::{
    Checkpoint, CheckpointInfo, TrainError, Trainer, load_dataset, load_ema_net, read_log,
};

#[test]
fn loss_falls_on_bundled_mnist_and_beats_the_identity_restorer() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::tiny(dir.path());
    config.grad_accumulation = 1;
    config.steps = 100;
    config.log_every = 10;
    config.checkpoint.every = 1000;
    let mut trainer = Trainer::new(config.clone(), &[Device::flex()]).unwrap();
    let losses: Vec<f32> = (0..100).map(|_| trainer.step().unwrap().loss).collect();
    let mean = |s: &[f32]| s.iter().sum::<f32>() / s.len() as f32;
    let (first, last) = (mean(&losses[..5]), mean(&losses[80..]));

    // Independent reference: the "do nothing" restorer x̂0 = x_s, averaged over the levels
    // training draws (s uniform in 1..=T), on 64 training images.
    let op = config.degradation.build().unwrap();
    let set = load_dataset(&config.data.dataset, 1).unwrap();
    let pipeline = config
        .data
        .augmentation
        .pipeline(config.data.image_size)
        .unwrap();
    let loader =
        cold_data::Loader::new(set, pipeline, cold_data::LoaderConfig::eval(64, 0)).unwrap();
    let x0 = loader.host_batch(0).images_tensor(&Device::flex());
    let t = op.steps();
    let identity: f32 = (1..=t)
        .map(|s| {
            let xs = op.degrade_at(x0.clone(), s, &Draw::empty(64)).unwrap();
            (xs - x0.clone()).abs().mean().into_scalar::<f32>()
        })
        .sum::<f32>()
        / t as f32;
    eprintln!("loss: first 5 {first:.4}, last 20 {last:.4}; identity restorer {identity:.4}");
    assert!(
        last < 0.5 * first,
        "the loss did not fall: {first} -> {last}"
    );
    assert!(
        last < identity,
        "the network ({last}) does not beat the identity restorer ({identity})"
    );

    // train.jsonl: one line per 10 steps, the window means of the reported losses.
    let log = read_log(trainer.paths().log()).unwrap();
    assert_eq!(
        log.iter().map(|l| l.step).collect::<Vec<_>>(),
        (1..=10).map(|k| 10 * k).collect::<Vec<u64>>()
    );
    for (line, window) in log.iter().zip(losses.chunks(10)) {
        let m = window.iter().map(|&l| l as f64).sum::<f64>() / 10.0;
        assert!((line.loss - m).abs() < 1e-6, "{} vs {m}", line.loss);
        assert_eq!(line.lr, 1e-3);
        assert!(line.images_per_s > 0.0 && line.elapsed_s > 0.0);
    }
    assert!(log.windows(2).all(|w| w[1].elapsed_s >= w[0].elapsed_s));
}

#[test]
fn a_diverging_run_stops_with_the_step_and_keeps_the_last_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::tiny(dir.path());
    config.optimizer.lr = 1e30; // absurd: the weights overflow within a few updates
    config.checkpoint.every = 1;
    let mut trainer = Trainer::new(config, &[Device::flex()]).unwrap();
    let error = loop {
        match trainer.step() {
            Ok(r) => assert!(
                r.step < 10,
                "no divergence after 10 updates (loss {})",
                r.loss
            ),
            Err(e) => break e,
        }
    };
    let TrainError::NonFiniteLoss {
        step,
        loss,
        ref last_checkpoint,
    } = error
    else {
        panic!("expected a non-finite loss error, got {error}");
    };
    assert!(!loss.is_finite());
    let message = error.to_string();
    assert!(message.contains(&format!("at step {step}")), "{message}");
    // The weights were not updated with the bad gradients, and the checkpoint of the previous
    // step is on disk, loadable, and holds exactly those weights.
    assert_eq!(trainer.step_count(), step - 1);
    let latest = last_checkpoint
        .clone()
        .expect("a checkpoint was written every step");
    assert!(message.contains(&latest.display().to_string()), "{message}");
    let ckpt = Checkpoint::load(&latest, &Device::flex().autodiff()).unwrap();
    assert_eq!(ckpt.state.step, step - 1);
    assert_eq!(
        common::param_bits(&ckpt.model),
        common::param_bits(trainer.model())
    );
}

#[test]
fn checkpoints_round_trip_and_feed_sampling_from_the_path_alone() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::tiny(dir.path());
    config.steps = 4;
    config.checkpoint.every = 2;
    config.checkpoint.keep_every = 4;
    config.samples.every = 2;
    config.samples.images = 3;
    let device = Device::flex();
    let mut trainer = Trainer::new(config.clone(), std::slice::from_ref(&device)).unwrap();
    let last = trainer.train().unwrap();
    let paths = trainer.paths().clone();
    assert_eq!(last, paths.latest());
    assert!(paths.kept(4).exists() && !paths.kept(2).exists());
    assert!(paths.config().exists());

    // Sample grids: 4 columns (original | degraded | direct | Algorithm 2) of 3 rows of 16 px.
    for step in [2, 4] {
        let img = image_size(&paths.sample_grid(step));
        assert_eq!(img.0, 4 * (16 + 2) + 2, "grid width");
        assert!(img.1 > 3 * (16 + 2), "grid height {}", img.1);
    }

    // Everything comes back bit for bit.
    let ckpt = Checkpoint::load(&last, &device.clone().autodiff()).unwrap();
    assert_eq!(ckpt.config, config);
    assert_eq!(ckpt.state.step, 4);
    assert_eq!(ckpt.state, {
        let mut s = trainer.state();
        s.elapsed_s = ckpt.state.elapsed_s;
        s
    });
    assert_eq!(
        common::param_bits(&ckpt.model),
        common::param_bits(trainer.model())
    );
    assert_eq!(
        common::param_bits(&ckpt.ema),
        common::param_bits(trainer.ema())
    );
    let kept = Checkpoint::load(paths.kept(4), &device).unwrap();
    assert_eq!(
        common::param_bits(&kept.ema),
        common::param_bits(trainer.ema())
    );
    let info = CheckpointInfo::read(&last).unwrap();
    assert_eq!((info.state.step, info.config.clone()), (4, config.clone()));
    let sidecar: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(last.with_extension("json")).unwrap())
            .unwrap();
    assert_eq!(sidecar["step"], 4);

    // Sampling needs only the path: the EMA network and the configuration.
    let (ema, cfg) = load_ema_net(&last, &device).unwrap();
    assert_eq!(cfg, config);
    assert_eq!(common::param_bits(&ema), common::param_bits(trainer.ema()));
    // The checkpoint is also an original-style trainer checkpoint for cold-unet.
    assert_eq!(
        cold_unet::read_safetensors_config(&last).unwrap(),
        Some(config.network.clone())
    );
    let (live, _) = cold_unet::RestorationNet::from_file(
        &config.network,
        &last,
        cold_unet::CheckpointEntry::Model,
        &device,
    )
    .unwrap();
    assert_eq!(
        common::param_bits(&live),
        common::param_bits(trainer.model())
    );

    // A new run refuses a directory that holds a checkpoint; resuming from it works.
    let e = Trainer::new(config.clone(), std::slice::from_ref(&device))
        .unwrap_err()
        .to_string();
    assert!(e.contains("output_dir") && e.contains("step 4"), "{e}");
    let resumed = Trainer::resume(dir.path(), std::slice::from_ref(&device)).unwrap();
    assert_eq!(resumed.step_count(), 4);
    // Resuming may extend the run but not change what shapes the state.
    let e = Trainer::resume_with(dir.path(), std::slice::from_ref(&device), |c| {
        c.batch_size = 3
    })
    .unwrap_err()
    .to_string();
    assert!(e.contains("batch_size"), "{e}");
    let more =
        Trainer::resume_with(dir.path(), std::slice::from_ref(&device), |c| c.steps = 6).unwrap();
    assert_eq!(more.config().steps, 6);
}

#[test]
fn broken_checkpoints_are_errors_that_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let device = Device::flex();
    let bad = dir.path().join("bad.safetensors");
    std::fs::write(&bad, b"not a checkpoint at all").unwrap();
    for e in [
        Checkpoint::load(&bad, &device).unwrap_err().to_string(),
        CheckpointInfo::read(&bad).unwrap_err().to_string(),
        load_ema_net(&bad, &device).unwrap_err().to_string(),
    ] {
        assert!(e.contains("bad.safetensors"), "{e}");
    }
    // Network weights alone are not a training checkpoint.
    let net = cold_unet::NetConfig::Unet(cold_unet::UnetConfig::tiny(1)).init(&device);
    let weights = dir.path().join("weights.safetensors");
    net.save_safetensors(&weights).unwrap();
    let e = Checkpoint::load(&weights, &device).unwrap_err().to_string();
    assert!(
        e.contains("weights.safetensors") && e.contains("not a cold-train checkpoint"),
        "{e}"
    );
    // A truncated checkpoint (what a non-atomic writer would leave) is refused, not misread.
    let mut config = common::tiny(&dir.path().join("run"));
    config.steps = 1;
    let mut trainer = Trainer::new(config, std::slice::from_ref(&device)).unwrap();
    let good = trainer.train().unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let cut = dir.path().join("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let e = Checkpoint::load(&cut, &device).unwrap_err().to_string();
    assert!(e.contains("cut.safetensors"), "{e}");
}

#[test]
fn several_devices_train_checkpoint_and_resume() {
    // Two handles of the CPU device: every micro-batch is split in two shards.
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::tiny(dir.path());
    config.steps = 3;
    config.checkpoint.every = 2;
    let devices = [Device::flex(), Device::flex()];
    let mut trainer = Trainer::new(config, &devices).unwrap();
    trainer.step().unwrap();
    let report = trainer.step().unwrap();
    assert!(report.loss.is_finite());
    let ckpt = report.checkpoint.expect("checkpoint at step 2");
    assert_eq!(CheckpointInfo::read(&ckpt).unwrap().state.devices, 2);
    let mut resumed = Trainer::resume(&ckpt, &devices).unwrap();
    let mut straight = trainer;
    let a = straight.step().unwrap();
    let b = resumed.step().unwrap();
    assert_eq!(a.loss.to_bits(), b.loss.to_bits());
    assert_eq!(
        common::param_bits(straight.model()),
        common::param_bits(resumed.model())
    );
}

fn image_size(path: &std::path::Path) -> (u32, u32) {
    // PNG: the IHDR chunk starts at byte 8; width and height are big-endian at 16 and 20.
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[1..4], b"PNG", "{}", path.display());
    (
        u32::from_be_bytes(b[16..20].try_into().unwrap()),
        u32::from_be_bytes(b[20..24].try_into().unwrap()),
    )
}
