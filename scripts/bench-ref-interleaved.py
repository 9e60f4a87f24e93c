#!/usr/bin/env python3
"""Time the PyTorch reference (shared/bench/ref_pytorch.py) on a SHARED machine, one measurement
at a time, so that it can be interleaved with our criterion benches (docs/performance.md).

ref_pytorch.py itself waits (up to 300 s per config) for an idle machine and retries contended
repetitions; on a machine that is never idle that makes a sitting take hours. This driver imports
its models, blur and Algorithm 2 unchanged, sets its patience to 0 (take the repetitions as they
come), and prints one JSON line per measurement with the load average before and after.

    /tmp/ref-venv/bin/python scripts/bench-ref-interleaved.py \
        --ref ../shared/bench/ref_pytorch.py --config mnist-small-32 --what train,forward,sample

--what: train (degrade + forward + L1 + backward + Adam, batch 32), forward (batch 32, no_grad),
fwdbwd (forward + L1 to a fixed target + backward, batch 32: benches/unet.rs's `-fwdbwd`),
sample (Algorithm 2, 16 images, T of the config), rss (peak RSS of 2 training steps in a fresh
process, as ref_pytorch.py measures it), sample128 (Algorithm 2 for blur generation at 128x128,
4 images: one network forward and one blur convolution, from which the whole T = 300 run is
computed; --config is then ignored).
"""

import argparse
import importlib.util
import json
import subprocess
import sys
import time


def load_ref(path):
    spec = importlib.util.spec_from_file_location("ref_pytorch", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["ref_pytorch"] = mod
    spec.loader.exec_module(mod)
    mod.PATIENCE_S = 0.0
    return mod


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ref", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--what", default="train,forward")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--sample-n", type=int, default=16)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()

    R = load_ref(args.ref)
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    what = [w for w in args.what.split(",") if w]

    if "rss" in what:
        out = subprocess.run([sys.executable, args.ref, "--rss-child", args.config,
                              "--threads", str(args.threads), "--batch", str(args.batch),
                              "--rss-steps", "2"], capture_output=True, text=True, check=True)
        rec = json.loads(out.stdout.strip().splitlines()[-1])
        rec.update(config=args.config, what="rss", loadavg=loadavg(), torch=torch.__version__,
                   time=time.strftime("%Y-%m-%dT%H:%M:%S"))
        print(json.dumps(rec), flush=True)
        what = [w for w in what if w != "rss"]
    if not what:
        return

    def report(name, fn, warmup, reps):
        before = loadavg()
        r = R.timed(fn, warmup, reps)
        rec = dict(config=args.config, what=name, median_ms=r["median_ms"], all_ms=r["all_ms"],
                   calls_per_rep=r["calls_per_rep"], foreign_cpu_max=r["foreign_cpu_max"],
                   loadavg_before=before, loadavg_after=loadavg(), threads=args.threads,
                   torch=torch.__version__, time=time.strftime("%Y-%m-%dT%H:%M:%S"))
        print(json.dumps(rec), flush=True)

    if "sample128" in what:
        # Algorithm 2 for blur generation at 128x128 (our `blur-gen-celeba`: T = 300 circular
        # blurs, k 27, sigma_i = exp(0.01 i)), 4 images, with our `unet-cifar-small` network
        # (ConvNeXt dim 32, mults 1,2,4, 3 channels). The original's step s costs one network
        # forward plus D(x0_hat, s-1) = s-1 blur convolutions plus one more, so the whole run is
        # 300 forwards + sum_{s=1..300} s = 45 150 blur convolutions: both are timed here and
        # the total is computed from them (running the full loop takes too long under load).
        model = R.ConvNextUnet(32, (1, 2, 4), channels=3).eval()
        blur = R.BlurSchedule(300, 3, "Exponential", 27, 0.01)
        x4 = R.fake_images(4, 3, 128, gen)
        t4 = torch.full((4,), 299, dtype=torch.long)

        def fwd128():
            with torch.no_grad():
                return model(x4, t4)

        report("forward_128_n4", fwd128, args.warmup, args.reps)
        with torch.no_grad():
            report("blur_once_128_n4", lambda: blur.blur_once(x4, 150), args.warmup, args.reps)
        what = [w for w in what if w != "sample128"]
        if not what:
            return

    cfg = R.CONFIGS[args.config]
    model, blur = R.build(cfg)
    x = R.fake_images(args.batch, cfg["channels"], cfg["size"], gen)
    opt = torch.optim.Adam(model.parameters(), lr=2e-5)

    for w in what:
        if w == "train":
            model.train()
            report("train_step", lambda: R.train_step(model, blur, opt, x), args.warmup, args.reps)
        elif w == "fwdbwd":
            # What benches/unet.rs times as `-fwdbwd`: forward, L1 loss to a fixed target,
            # backward (no degradation, no optimiser step).
            model.train()
            t_fb = torch.randint(0, blur.T, (args.batch,), generator=gen)
            target = R.fake_images(args.batch, cfg["channels"], cfg["size"], gen)

            def fwdbwd():
                model.zero_grad(set_to_none=True)
                loss = (model(x, t_fb) - target).abs().mean()
                loss.backward()
                return loss

            report("fwdbwd", fwdbwd, args.warmup, args.reps)
        elif w == "forward":
            model.eval()
            t_fwd = torch.randint(0, blur.T, (args.batch,), generator=gen)

            def fwd():
                with torch.no_grad():
                    return model(x, t_fwd)

            report("forward", fwd, args.warmup, args.reps)
        elif w == "sample":
            model.eval()
            xs = x[: args.sample_n]

            def run_sample():
                with torch.no_grad():
                    return R.sample_alg2(model, blur, blur.degrade(xs, blur.T))

            report(f"sample_alg2_T{blur.T}_n{args.sample_n}", run_sample, 1, max(1, args.reps // 2))
        else:
            raise SystemExit(f"unknown --what entry {w!r}")


if __name__ == "__main__":
    main()
