"""Where a request's CPU goes on the whole machine: CPU time by process group (read from /proc) while wrk runs.

A group is a server's process tree (the project's gunicorn, the anchor's, the Celery worker and its beat), or
Redis, PostgreSQL or wrk by process name; `steal` is the time the hypervisor gave the machine's virtual CPUs to
others while they had work (a virtual machine's noise: /proc/stat's steal column); `kernel` is the rest of the
machine's busy time (network softirq work, other processes). Clock ticks are 10 ms, so a group's figure is good to
about 10 ms over the requests of one run. Linux only; elsewhere every figure is None.
"""

import os
from pathlib import Path

GROUPS = ("server", "redis", "postgres", "celery", "wrk", "kernel", "steal")
BY_NAME = {"redis-server": "redis", "postgres": "postgres", "wrk": "wrk"}


def snapshot(roots: dict[int, str]) -> dict | None:
    """The machine's busy clock ticks so far, and each live process's group and ticks; `roots` maps a process
    tree's root PID to its group."""
    try:
        busy = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return None
    parents, used = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        name, fields = text[text.index("(") + 1 : text.rindex(")")], text[text.rindex(")") + 2 :].split()
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        used[pid] = (name, int(fields[11]) + int(fields[12]))  # utime + stime
    processes = {}
    for pid, (name, ticks) in used.items():
        group, ancestor = BY_NAME.get(name), pid
        while group is None and ancestor > 1:
            group, ancestor = roots.get(ancestor), parents.get(ancestor, 0)
        if group:
            processes[pid] = (group, ticks)
    # user, nice, system, irq, softirq, steal; and what this process's ended children (wrk) used
    machine = busy[0] + busy[1] + busy[2] + busy[5] + busy[6] + busy[7]
    times = os.times()
    children = round((times.children_user + times.children_system) * os.sysconf("SC_CLK_TCK"))
    return {"machine": machine, "steal": busy[7], "processes": processes, "children": children}


def per_request(before: dict | None, after: dict | None, requests: int) -> dict[str, float | None]:
    """Microseconds of CPU per request by group, between two snapshots. A process that started meanwhile counts
    from zero; wrk, a child of this process, is counted when it has ended. The time of any other process that
    ended meanwhile is left in `kernel`, the machine's busy time that no group accounts for."""
    if before is None or after is None or not requests:
        return dict.fromkeys(GROUPS)
    ticks = dict.fromkeys(GROUPS, 0)
    for pid, (group, used) in after["processes"].items():
        earlier = before["processes"].get(pid)
        ticks[group] += used - (earlier[1] if earlier and earlier[0] == group else 0)
    ticks["wrk"] += after["children"] - before["children"]
    ticks["steal"] = after["steal"] - before["steal"]
    ticks["kernel"] = after["machine"] - before["machine"] - sum(ticks.values())
    tick_us = 1e6 / os.sysconf("SC_CLK_TCK")
    return {group: round(ticks[group] * tick_us / requests, 1) for group in GROUPS}
