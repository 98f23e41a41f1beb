"""`GET /info` and `GET /ok`: what a front-end probes first must look the same on both servers."""

from __future__ import annotations

from harness import Target, same_on_both
from transcript import Transcript


async def test_ok_and_info_shapes(targets: list[Target]) -> None:
    async def scenario(target: Target, seen: Transcript) -> None:
        async with target.http() as http:
            ok = await http.get("/ok")
            seen.add("ok", (ok.status_code, ok.json()))
            info = await http.get("/info", headers={"Authorization": ""})
            seen.add("info status", info.status_code)
            seen.add("info keys", sorted(info.json()))
            seen.add("info flags", sorted(info.json()["flags"]))
            seen.add("info host", sorted(info.json()["host"]))
            seen.add("assistants flag", info.json()["flags"]["assistants"])

    await same_on_both(targets, scenario)
