"""Scale-out: AttackGen on Apache Beam vs the local loop; PGD-7 AT on two workers and in bfloat16.

    python benchmarks/scaling.py --quick      # under 3 minutes on 2 cores (needs the beam extra)
    python benchmarks/scaling.py --only attackgen --attack_images 4096   # AttackGen: local, Beam, Dask

Measured in one run, on real CIFAR-10 ($KERASADV_CIFAR10_TAR) and the simple CNN:

- `beam_2_workers_vs_local`, `beam_1_worker_vs_local`: AttackGen throughput (PGD-10, eps 8/255,
  one Examples split written as TFRecords) of `kerasadv.beam.attack_split` on the DirectRunner
  in multi_processing mode with 2 / 1 worker processes, over the local loop
  (`attack_gen.adversarial_batches` + `tfrecords.write_split`, the same records). The Beam time
  includes starting the worker processes and loading the `.keras` model in each: what a user
  waits for. On 2 cores two workers share the cores the local loop's TensorFlow already uses,
  so the best outcome here is parity minus that start-up. The attacked model is freshly
  initialised: PGD-10 without early exit costs the same whatever the weights.
- `dask_2_workers_vs_local`: the same AttackGen on Beam's Dask runner against a scheduler and two
  single-threaded worker processes started by this script (`kerasadv.beam.local_dask_cluster`:
  `dask scheduler`, `dask worker`, as on machines); the workers persist between runs, so only the
  first run pays their start-up (importing TensorFlow, loading the model, tracing the attack):
  `dask_2_workers_startup_seconds` (first run minus the later runs' median; the runs timed for
  the ratio include that first one), `dask_startup_share_of_run` (of the first run; the sizes
  should keep it under 0.2: `--attack_images`), `dask_cluster_start_seconds` (processes started
  and connected). One 2-core machine cannot show Dask scaling out: two workers share the cores
  the local loop's TensorFlow already uses, so parity minus the scheduling overhead is the best
  outcome; it shows that the engine runs the jobs, what starting it costs, and the overhead.
- `mwms_2_workers_step_vs_1`: step time of PGD-7 adversarial training of the simple CNN on
  two local worker processes (`MultiWorkerMirroredStrategy`, `TF_CONFIG` on 127.0.0.1, one
  core each, half of each global batch each) over one process with both cores on the same
  global batches; every step ends with an all-reduce of the gradients over gRPC. Started as
  subprocesses of this script (`--mwms_worker`); the first epoch (tracing) is not timed.
- `pgd7_at_bf16_vs_fp32`: epoch time of PGD-7 adversarial training (`AdversarialModel`,
  adv_ratio 1) of the simple CNN, float32 over mixed_bfloat16 (`training.with_dtype_policy`),
  same cached batches, epochs interleaved after one untimed epoch each; then both models'
  clean and PGD-20 robust accuracy on held-out test images after the same epochs.

bfloat16 needs bfloat16 units (AVX-512 BF16 or AMX): on a CPU without them TensorFlow emulates
it, and PGD-7 AT ran 7-8x slower than float32 (an AMD EPYC with AVX2 only, 2026-11-26);
`--quick` took 3 minutes there, most of it the emulated bfloat16 epochs and starting processes.
At `--quick` sizes (512 attacked images) starting Beam's worker processes (about 17 s: Python,
TensorFlow, the model) outweighs the attack itself; the default sizes show the throughput.

Ends with `ratio <name> <value>` lines; above 1 means the scaled-out / bf16 path is faster.
"""

import argparse
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from common import cached_train_batches, cifar_archive, print_ratios, print_table  # noqa: E402

from kerasadv import attacks, data, io, models, training  # noqa: E402
from kerasadv.attacks.records import adversarial_batches  # noqa: E402
from kerasadv.data import tfrecords  # noqa: E402

EPS = 8 / 255
WORKERS = {n: [f"--direct_num_workers={n}", "--direct_running_mode=multi_processing"] for n in (1, 2)}


def examples_set(archive, directory, num_examples):
    """Writes `num_examples` CIFAR-10 test images as an Examples set ("eval" split)."""
    x, y = data.to_arrays(data.load(f"tar:{archive}", "test", num_examples=num_examples, seed=1)[0])
    count, _ = tfrecords.write_split([{"image": x, "label": y}], directory, "eval")
    tfrecords.write_schema(directory, x.shape[1:], "uint8", [str(i) for i in range(10)], {"eval": count})
    return x, y


def attack_gen_rows(model_path, examples, scratch, batch_size, rounds):
    """AttackGen seconds of the local loop, of Beam's DirectRunner with 1 and 2 workers and of 2 Dask workers."""
    from kerasadv import beam

    try:
        cluster = beam.local_dask_cluster(workers=2, threads=1)
    except ImportError:
        cluster = None
    with cluster or contextlib.nullcontext() as dask:
        return _attack_gen_rows(beam, dask, model_path, examples, scratch, batch_size, rounds)


def _attack_gen_rows(beam, dask, model_path, examples, scratch, batch_size, rounds):

    attack = attacks.PGD(EPS, steps=10, seed=0)
    model = keras.models.load_model(model_path)

    def local(out):
        batches = adversarial_batches(attack, model, tfrecords.read_split(examples, "eval", batch_size), [])
        return tfrecords.write_split(batches, out, "eval", "float32")[0]

    def on_beam(workers):
        return lambda out: beam.attack_split(model_path, attack, examples, "eval", out, batch_size, WORKERS[workers])[0]

    methods = {"local": local, "beam_1_worker": on_beam(1), "beam_2_workers": on_beam(2)}
    if dask is not None:
        dask_flags = ["--runner=DaskRunner", f"--dask_client_address={dask.address}"]

        def on_dask(out):
            count = beam.attack_split(model_path, attack, examples, "eval", out, batch_size, dask_flags)[0]
            assert beam.last_run().engine == "DaskRunner", beam.last_run()
            return count

        methods["dask_2_workers"] = on_dask
    times = {name: [] for name in methods}
    for round_index in range(rounds + (dask is not None)):  # Dask's first run, on fresh workers: start-up
        for name, method in methods.items():
            if round_index == rounds and name != "dask_2_workers":
                continue
            out = os.path.join(scratch, f"{name}-{round_index}")
            start = time.perf_counter()
            count = method(out)
            times[name].append(time.perf_counter() - start)
            shutil.rmtree(out)
    ratios = {}
    if dask is not None:
        cold, warm = times["dask_2_workers"][0], statistics.median(times["dask_2_workers"][1:])
        ratios["dask_2_workers_startup_seconds"] = cold - warm  # TF import, model load, tracing in each worker
        ratios["dask_cluster_start_seconds"] = dask.started_seconds  # scheduler + 2 workers connected
        ratios["dask_startup_share_of_run"] = (cold - warm) / cold
        times["dask_2_workers"] = [cold, *times["dask_2_workers"][1:]][:rounds]  # as many runs as the others
    seconds = {name: statistics.median(t) for name, t in times.items()}
    rows = [{"row": f"attackgen_{name}", "seconds": s, "images_per_s": count / s} for name, s in seconds.items()]
    ratios.update({f"{name}_vs_local": seconds["local"] / seconds[name] for name in seconds if name != "local"})
    return rows, ratios


def pgd7_at(policy):
    keras.utils.set_random_seed(0)
    classifier = training.with_dtype_policy(models.simple_cnn(), policy)
    model = training.AdversarialModel(classifier, training.pgd_at_attack(EPS, 7, seed=0), adv_ratio=1.0)
    return training.compile_classifier(model, keras.optimizers.Adam(1e-3))


def mwms_worker(index, ports, train_images, batch_size):
    """One training process: prints `STEP_SECONDS <s>` (median of timed epochs / steps)."""
    if ports:
        cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
        os.environ["TF_CONFIG"] = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
    cores = max(1, (os.cpu_count() or 1) // max(1, len(ports)))
    tf.config.threading.set_intra_op_parallelism_threads(cores)
    tf.config.threading.set_inter_op_parallelism_threads(cores)
    strategy = training.get_strategy("multi_worker" if ports else "default")  # before any op
    with strategy.scope():
        keras.utils.set_random_seed(0)
        model = pgd7_at("float32")
    train_ds = training.global_batches(cached_train_batches(train_images, batch_size))
    model.fit(train_ds, epochs=1, verbose=0, shuffle=False)  # tracing, not timed
    steps = train_images // batch_size
    seconds = []
    for _ in range(2):
        start = time.perf_counter()
        model.fit(train_ds, epochs=1, verbose=0, shuffle=False)
        seconds.append((time.perf_counter() - start) / steps)
    print(f"STEP_SECONDS {statistics.median(seconds)}", flush=True)


def mwms_rows(train_images, batch_size):
    """PGD-7 AT step seconds of two worker processes and of one, run one after the other."""

    def launch(*task):
        args = [sys.executable, __file__, "--mwms_worker", *task, "--train_images", str(train_images)]
        return subprocess.Popen([*args, "--batch_size", str(batch_size)], stdout=subprocess.PIPE, text=True)

    def step_seconds(processes):
        outputs = [process.communicate(timeout=600)[0] for process in processes]
        if any(process.returncode for process in processes):
            raise RuntimeError(f"a training worker failed: {outputs}")
        return max(float(out.split("STEP_SECONDS ", 1)[1]) for out in outputs)  # synchronous steps

    sockets = [socket.socket() for _ in range(2)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [str(s.getsockname()[1]) for s in sockets]
    for s in sockets:
        s.close()
    two = step_seconds([launch(str(index), *ports) for index in range(2)])
    one = step_seconds([launch("0")])
    rows = [{"row": "pgd7_at_step_1_worker", "seconds": one}, {"row": "pgd7_at_step_2_workers", "seconds": two}]
    return rows, {"mwms_2_workers_step_vs_1": one / two}


def bf16_rows(train_ds, test, epochs):
    """PGD-7 AT epoch seconds under float32 and mixed_bfloat16, then accuracies after `epochs` epochs."""
    models_by_policy = {policy: pgd7_at(policy) for policy in training.POLICIES}
    times = {policy: [] for policy in models_by_policy}
    for model in models_by_policy.values():
        model.fit(train_ds, epochs=1, verbose=0, shuffle=False)  # tracing, not timed
    for _ in range(epochs - 1):
        for policy, model in models_by_policy.items():
            start = time.perf_counter()
            model.fit(train_ds, epochs=1, verbose=0, shuffle=False)
            times[policy].append(time.perf_counter() - start)
    rows = []
    for policy, model in models_by_policy.items():
        classifier = training.with_dtype_policy(model.classifier, "float32")  # evaluated as served
        robust = attacks.evaluate_attack(attacks.PGD(EPS, steps=20, seed=0), classifier, test, progress=False)
        rows.append(
            {
                "row": f"pgd7_at_epoch_{policy}",
                "seconds": statistics.median(times[policy]),
                "clean_accuracy": robust["clean_accuracy"],
                "pgd20_accuracy": robust["adversarial_accuracy"],
            }
        )
    return rows, {"pgd7_at_bf16_vs_fp32": rows[0]["seconds"] / rows[1]["seconds"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (under 3 minutes)")
    parser.add_argument("--only", choices=["attackgen"], help="run only this part (AttackGen: local, Beam, Dask)")
    parser.add_argument("--attack_images", type=int, help="images AttackGen attacks (default: 512 quick, 4096)")
    parser.add_argument("--mwms_worker", nargs="+", help=argparse.SUPPRESS)  # INDEX [PORT PORT]
    parser.add_argument("--train_images", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--batch_size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mwms_worker:
        return mwms_worker(int(args.mwms_worker[0]), args.mwms_worker[1:], args.train_images, args.batch_size)
    archive = cifar_archive()
    attack_images, rounds, train_images, epochs = (512, 1, 128, 2) if args.quick else (4096, 3, 10000, 10)
    attack_images = args.attack_images or attack_images
    rows, ratios = [], {}
    with tempfile.TemporaryDirectory(prefix="kerasadv-scaling-") as scratch:
        keras.utils.set_random_seed(0)
        model_path = os.path.join(scratch, "model.keras")
        io.save_model(models.simple_cnn(), model_path)
        examples = os.path.join(scratch, "examples")
        x_test, y_test = examples_set(archive, examples, attack_images)
        try:
            gen_rows, gen_ratios = attack_gen_rows(model_path, examples, scratch, 128, rounds)
            rows, ratios = rows + gen_rows, {**ratios, **gen_ratios}
        except ImportError:
            print("Apache Beam is not installed (pip install -e '.[beam]'): the Beam rows are skipped")
    if args.only == "attackgen":
        print_table(rows, ["row", "seconds", "images_per_s"])
        return print_ratios(ratios)
    mwms, mwms_ratios = mwms_rows(128 if args.quick else 4096, 32 if args.quick else 64)
    rows, ratios = rows + mwms, {**ratios, **mwms_ratios}
    held_out = (x_test[:128], y_test[:128]) if args.quick else (x_test[:1024], y_test[:1024])
    at_rows, at_ratios = bf16_rows(cached_train_batches(train_images, 128), held_out, epochs)
    print(f"PGD-7 AT: simple CNN, {train_images} train images x {epochs} epochs (the last {epochs - 1} timed); "
          f"accuracies on {len(held_out[0])} test images, PGD-20 eps {EPS:.4f}")  # fmt: skip
    print_table(rows + at_rows, ["row", "seconds", "images_per_s", "clean_accuracy", "pgd20_accuracy"])
    print_ratios({**ratios, **at_ratios})


if __name__ == "__main__":
    main()
