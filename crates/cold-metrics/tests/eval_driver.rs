//! The evaluation driver: row definitions, accumulation over batches, report files.

use burn::tensor::{Device, Distribution, Tensor};
use cold_metrics::eval::{
    DegradedImage, EvalBatch, EvalConfig, EvalProgress, EvalReport, Evaluator, Row, RowDefinition,
    SampledImage, TrajectoryImages, evaluate,
};
use cold_metrics::fid::FidExtractor;
use cold_metrics::inception::FidInceptionV3;
use cold_metrics::quality::{rmse, ssim, to_unit_range};

fn constant(v: f32, device: &Device) -> Tensor<4> {
    Tensor::<4>::ones([1, 1, 2, 2], device).mul_scalar(v)
}

fn value(t: &Tensor<4>) -> f32 {
    t.clone().into_data().try_into_vec_as::<f32>().unwrap()[0]
}

#[test]
fn row_definitions_pick_the_papers_images() {
    let device = Device::flex();
    let traj = || TrajectoryImages {
        original: constant(0.0, &device),
        fully_degraded: constant(1.0, &device),
        after_first_update: Some(constant(2.0, &device)),
        direct: constant(3.0, &device),
        final_sample: Some(constant(4.0, &device)),
        last_prediction: Some(constant(5.0, &device)),
    };
    let pick = |def: RowDefinition| {
        let b = def.select(traj()).unwrap();
        [
            value(&b.original),
            value(&b.degraded),
            value(&b.direct),
            value(&b.sampled),
        ]
    };
    assert_eq!(pick(RowDefinition::BLUR), [0.0, 1.0, 3.0, 4.0]);
    assert_eq!(pick(RowDefinition::SUPER_RESOLUTION), [0.0, 1.0, 3.0, 5.0]);
    assert_eq!(pick(RowDefinition::INPAINTING), [0.0, 2.0, 3.0, 5.0]);
    assert_eq!(pick(RowDefinition::SNOW), [0.0, 2.0, 3.0, 5.0]);
    assert_eq!(
        RowDefinition::for_operator("blur").unwrap(),
        RowDefinition::BLUR
    );
    assert_eq!(
        RowDefinition::for_operator("SR").unwrap(),
        RowDefinition::SUPER_RESOLUTION
    );
    assert_eq!(
        RowDefinition::for_operator("inpaint").unwrap(),
        RowDefinition::INPAINTING
    );
    assert_eq!(
        RowDefinition::for_operator("decolor").unwrap(),
        RowDefinition::SNOW
    );
    let e = RowDefinition::for_operator("animorph")
        .unwrap_err()
        .to_string();
    assert!(e.contains("animorph"), "{e}");

    let mut t = traj();
    t.after_first_update = None;
    let e = RowDefinition::INPAINTING.select(t).unwrap_err().to_string();
    assert!(e.contains("after_first_update"), "{e}");
    let mut t = traj();
    t.final_sample = None;
    let e = RowDefinition::BLUR.select(t).unwrap_err().to_string();
    assert!(e.contains("final_sample"), "{e}");
    let custom = RowDefinition {
        degraded: DegradedImage::FullyDegraded,
        sampled: SampledImage::LastPrediction,
    };
    assert_eq!(custom, RowDefinition::SUPER_RESOLUTION);
}

fn batch(original: &Tensor<4>, device: &Device) -> EvalBatch {
    let noise = Tensor::<4>::random(original.dims(), Distribution::Uniform(-0.3, 0.3), device);
    EvalBatch {
        original: original.clone(),
        // +0.2 in [-1, 1] units = +0.1 in [0, 1] units.
        degraded: original.clone().add_scalar(0.2),
        direct: original.clone() + noise,
        sampled: original.clone(),
    }
}

#[test]
fn rows_accumulate_over_batches_like_one_big_batch() {
    let device = Device::flex();
    let a = Tensor::<4>::random([3, 3, 16, 16], Distribution::Uniform(-0.8, 0.6), &device);
    let b = Tensor::<4>::random([2, 3, 16, 16], Distribution::Uniform(-0.8, 0.6), &device);
    let (ba, bb) = (batch(&a, &device), batch(&b, &device));
    let mut cfg = EvalConfig::new(RowDefinition::BLUR);
    cfg.fid = false;
    cfg.label = "unit test".into();
    let mut seen = Vec::new();
    let report = evaluate(
        cfg,
        None,
        vec![Ok::<_, String>(ba.clone()), Ok(bb.clone())],
        Some(5),
        |p: &EvalProgress| seen.push(*p),
    )
    .unwrap();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        (seen[1].batches, seen[1].images, seen[1].total_images),
        (2, 5, Some(5))
    );
    assert_eq!(report.images, 5);
    let rows: Vec<Row> = report.rows.iter().map(|r| r.row).collect();
    assert_eq!(rows, Row::ALL);
    let [degraded, sampled, direct] = [&report.rows[0], &report.rows[1], &report.rows[2]];
    assert!((degraded.rmse - 0.1).abs() < 1e-6, "{degraded:?}");
    assert!((degraded.psnr.unwrap() - 20.0).abs() < 1e-4, "{degraded:?}");
    assert_eq!(sampled.psnr, None, "identical images: infinite PSNR");
    assert!(
        sampled.rmse.abs() < 1e-7 && (sampled.ssim - 1.0).abs() < 1e-6,
        "{sampled:?}"
    );
    assert!(degraded.fid.is_none() && degraded.kid.is_none());
    // Direct row = the same metrics computed in one go on the concatenated set.
    let cat = |f: fn(&EvalBatch) -> Tensor<4>| to_unit_range(Tensor::cat(vec![f(&ba), f(&bb)], 0));
    let orig = cat(|b| b.original.clone());
    let dir = cat(|b| b.direct.clone());
    let (r, s) = (
        rmse(dir.clone(), orig.clone()).unwrap(),
        ssim(dir, orig).unwrap(),
    );
    assert!((direct.rmse - r).abs() < 1e-7, "{} vs {r}", direct.rmse);
    assert!((direct.ssim - s).abs() < 1e-7, "{} vs {s}", direct.ssim);
    assert!(direct.ssim < 0.99 && direct.rmse > 0.01);

    // Report files.
    let dir = tempfile::tempdir().unwrap();
    let (json, md) = (
        dir.path().join("out/eval.json"),
        dir.path().join("out/eval.md"),
    );
    report.write(&json, &md).unwrap();
    let back: EvalReport = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    // serde_json's default float parser may be off by one ulp.
    assert_eq!(
        (back.images, &back.label, back.rows_definition),
        (report.images, &report.label, report.rows_definition)
    );
    for (b, r) in back.rows.iter().zip(&report.rows) {
        assert_eq!(
            (b.row, b.fid, b.psnr.is_some()),
            (r.row, r.fid, r.psnr.is_some())
        );
        let close = |x: f64, y: f64| (x - y).abs() <= 1e-12 * y.abs().max(1.0);
        assert!(
            close(b.ssim, r.ssim) && close(b.rmse, r.rmse),
            "{b:?} vs {r:?}"
        );
        assert!(
            close(b.psnr.unwrap_or(0.0), r.psnr.unwrap_or(0.0)),
            "{b:?} vs {r:?}"
        );
    }
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(
        md.contains("unit test") && md.contains("| Degraded | – | "),
        "{md}"
    );
    assert!(md.contains(&format!("{:.3}", degraded.rmse)), "{md}");
    assert!(md.contains("| Sampled | – | 1.000 | 0.000 | ∞ |"), "{md}");
}

#[test]
fn driver_errors_are_clear() {
    let device = Device::flex();
    let x = Tensor::<4>::zeros([2, 1, 8, 8], &device);
    // FID without an extractor.
    let e = Evaluator::new(EvalConfig::new(RowDefinition::SNOW), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("extractor"), "{e}");
    let mut cfg = EvalConfig::new(RowDefinition::SNOW);
    cfg.fid = false;
    // The caller's source fails.
    let e = evaluate(
        cfg.clone(),
        None,
        vec![Err::<EvalBatch, _>("sampler exploded")],
        None,
        |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("sampler exploded"), "{e}");
    // Mismatched shapes within a batch and across batches.
    let mut ev = Evaluator::new(cfg.clone(), None).unwrap();
    let mut b = batch(&x, &device);
    b.direct = Tensor::zeros([2, 1, 8, 9], &device);
    let e = ev.add(b).unwrap_err().to_string();
    assert!(e.contains("direct") && e.contains("[2, 1, 8, 9]"), "{e}");
    ev.add(batch(&x, &device)).unwrap();
    let e = ev
        .add(batch(&Tensor::zeros([1, 1, 9, 8], &device), &device))
        .unwrap_err()
        .to_string();
    assert!(e.contains("first batch"), "{e}");
    // Nothing added.
    let e = Evaluator::new(cfg, None)
        .unwrap()
        .finish()
        .unwrap_err()
        .to_string();
    assert!(e.contains("no batch"), "{e}");
}

#[test]
fn fid_rows_against_originals() {
    // Random Inception weights: the values mean nothing, but the path is the real one, and a
    // row identical to the originals has FID 0 while a shifted one does not.
    let device = Device::flex();
    let ex = FidExtractor::new(FidInceptionV3::random(&device, 3));
    let mut cfg = EvalConfig::new(RowDefinition::BLUR);
    cfg.kid = Some(cold_metrics::KidConfig {
        num_subsets: 2,
        max_subset_size: 4,
        seed: 0,
    });
    let x = Tensor::<4>::random([4, 3, 8, 8], Distribution::Uniform(-1.0, 1.0), &device);
    let report = evaluate(
        cfg,
        Some(&ex),
        vec![Ok::<_, String>(batch(&x, &device))],
        None,
        |_| {},
    )
    .unwrap();
    let (degraded, sampled) = (&report.rows[0], &report.rows[1]);
    let (fd, fs) = (degraded.fid.unwrap(), sampled.fid.unwrap());
    assert!(fs.abs() < 1e-6, "FID of the originals themselves: {fs}");
    assert!(fd > 1e-3, "FID of shifted images: {fd}");
    let (kd, ks) = (
        degraded.kid.as_ref().unwrap(),
        sampled.kid.as_ref().unwrap(),
    );
    assert_eq!(kd.subset_size, 4);
    assert!(kd.mean > ks.mean, "{kd:?} vs {ks:?}");
    assert!(report.to_markdown().contains("KID"));
}
