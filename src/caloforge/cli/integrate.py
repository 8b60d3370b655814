"""``caloforge integrate``: phase-space integration with neural importance sampling (madnis),
VEGAS and flat sampling."""

from __future__ import annotations

import argparse

from caloforge.cli._flags import add_force, add_out, add_progress, add_seed, add_threads
from caloforge.errors import InputError
from caloforge.integrate.names import ALLOCATIONS, LOSSES, METHODS, PROCESS_NAMES, VEGAS_MAPS

__all__ = ["register", "run"]

EPILOG = """examples:
  caloforge integrate --process dy-zprime --channels 3 --train-calls 400000 --eval-calls 100000
  caloforge integrate --process 3body-2bw --channels 3 --train-calls 400000 --eval-calls 100000
  caloforge integrate --process dy-zprime --channels 3 --train-calls 400000 --eval-calls 100000 \\
      --compare --json dy.json
  caloforge integrate --process camel-4d --train-calls 200000 --eval-calls 100000 -o events.h5
"""


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``integrate`` command."""
    p = sub.add_parser(
        "integrate", help="phase-space integration: neural importance sampling vs VEGAS",
        description="Integrate a process on the unit hypercube with MadNIS-style neural "
        "importance sampling (madnis: buffered training, multi-channel with prior and learned "
        "channel weights); --compare adds flat MC, plain VEGAS and multi-channel VEGAS with the "
        "same pole mappings, on the same total number of integrand calls.", epilog=EPILOG)
    p.add_argument("--process", required=True, help=f"one of {', '.join(PROCESS_NAMES)}")
    p.add_argument("--channels", type=int, default=1,
                   help="1 (single channel) or the process's channel count (dy-zprime: 3, "
                   "3body-2bw: 3)")
    p.add_argument("--train-calls", type=int, required=True,
                   help="integrand calls for training / adaptation")
    p.add_argument("--eval-calls", type=int, required=True,
                   help="integrand calls for the final weighted sample")
    p.add_argument("--compare", action="store_true", help=f"also run {', '.join(METHODS[:-1])}")
    p.add_argument("--loss", choices=list(LOSSES),
                   help="NIS training loss (default: renyi with one channel, kl with more); "
                   "renyi raises the Renyi-divergence order from 2 (the variance optimum) "
                   "towards --renyi-alpha, which shortens the tail of the weights")
    p.add_argument("--renyi-alpha", type=float,
                   help="final Renyi order of --loss renyi (default: 64; larger = shorter "
                   "weight tail, higher unweighting efficiency, larger relative std)")
    p.add_argument("--vegas-share", type=float,
                   help="share of the training calls that adapt VEGAS grids put in front of the "
                   "flow (default: 0.3 with one channel, 0 with more)")
    p.add_argument("--vegas-bins", type=int, help="VEGAS bins per axis (default: 512)")
    p.add_argument("--vegas-map", choices=list(VEGAS_MAPS),
                   help="how the VEGAS bin edges are joined: smooth (a monotone spline, the "
                   "default) or linear (VEGAS' own piecewise-linear map)")
    p.add_argument("--batch-size", type=int, help="NIS points per training step (default: 2048)")
    p.add_argument("--learn-channel-weights", action="store_true",
                   help="train channel weights on top of the prior alpha (a network of the "
                   "point and the log prior weights, trained by the stratified variance)")
    p.add_argument("--channel-allocation", choices=list(ALLOCATIONS),
                   help="how the final sample is shared among channels: unweighting (equal "
                   "largest weights in every channel; the multi-channel default), variance "
                   "(smallest error) or mean (share of the integral)")
    add_out(p, "unweighted NIS events to this .h5 file", required=False)
    p.add_argument("--plot", help="PNG of m_ll and cos theta: target vs learned (Drell-Yan)")
    p.add_argument("--json", help="write the results as JSON")
    add_seed(p)
    add_threads(p)
    add_force(p, "existing outputs")
    add_progress(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Integrate, print the table, write the requested outputs."""
    from tqdm.auto import tqdm

    from caloforge.data.io import check_writable
    from caloforge.integrate.comparison import compare, get_process, table
    from caloforge.integrate.drell_yan import DrellYan
    from caloforge.integrate.events import plot_distributions, write_events
    from caloforge.integrate.methods import NISConfig, nis
    from caloforge.integrate.processes import MultiChannelProcess
    from caloforge.tables import write_json
    from caloforge.threads import torch_threads

    process = get_process(args.process)
    if args.train_calls < 1 or args.eval_calls < 1:
        raise InputError("call counts must be positive", "give --train-calls and --eval-calls > 0")
    if args.plot and not isinstance(process, DrellYan):  # before the work, not after
        raise InputError(f"--plot shows m_ll and cos theta of Drell-Yan, not '{args.process}'",
                         "drop --plot or use --process dy or dy-zprime")
    outputs = [o for o in (args.out, args.plot, args.json) if o]
    for out in outputs:
        check_writable(out, args.force)
    given = {"loss": args.loss, "vegas_share": args.vegas_share, "vegas_bins": args.vegas_bins,
             "vegas_map": args.vegas_map,
             "batch_size": args.batch_size, "renyi_alpha": args.renyi_alpha,
             "channel_allocation": args.channel_allocation}
    cfg = NISConfig.for_channels(args.channels, learned_weights=args.learn_channel_weights,
                                 **{k: v for k, v in given.items() if v is not None})
    with torch_threads(args.threads), tqdm(total=cfg.training_steps(args.train_calls),
                                           disable=args.no_progress, desc="NIS training",
                                           unit="step") as bar:
        result, batch = nis(process, args.train_calls, args.eval_calls, args.channels, cfg,
                            args.seed, progress=lambda step: bar.update(1))
        results = [result]
        if args.compare:
            results = compare(process, args.train_calls, args.eval_calls, args.channels,
                              methods=[m for m in METHODS if m != "nis"],
                              seed=args.seed) + results
    print(f"{process.name}: {args.train_calls} training + {args.eval_calls} evaluation calls "
          f"per method; integral in {process.unit}")
    print(table(results, process.exact()))
    observables = ({"x": batch.x} if not isinstance(process, MultiChannelProcess)
                   else process.physical(batch.y if batch.y is not None else batch.x))
    if args.out:
        n = write_events(args.out, observables, batch.weights, result, args.seed)
        print(f"wrote {n} unweighted events to {args.out}")
    if args.plot:
        plot_distributions(args.plot, observables, batch.weights, f"{process.name}, NIS")
        print(f"plot: {args.plot}")
    if args.json:
        write_json(args.json, [r.to_json() for r in results])
    return 0
