"""The assistants client beyond get/search: count, versions, graph (with xray), schemas, subgraphs."""

from __future__ import annotations

from harness import Target, same_on_both, status_of
from transcript import Transcript

GRAPH = "support_agent"


async def test_assistant_graph_schemas_subgraphs_count_versions(targets: list[Target]) -> None:
    async def scenario(target: Target, seen: Transcript) -> None:
        assistants = target.sdk().assistants
        assistant_id = (await assistants.search(graph_id=GRAPH))[0]["assistant_id"]
        seen.add("count", await assistants.count(graph_id=GRAPH))
        versions = await assistants.get_versions(assistant_id)
        seen.add("versions", [(v["version"], v["graph_id"]) for v in versions])
        seen.add("graph", await assistants.get_graph(assistant_id))
        seen.add("graph xray", await assistants.get_graph(assistant_id, xray=True))
        seen.add("schemas", await assistants.get_schemas(assistant_id))
        seen.add("subgraphs", await assistants.get_subgraphs(assistant_id))
        async with target.http() as http:
            bad = await http.get(f"/assistants/{assistant_id}/graph", params={"xray": "-1"})
            seen.add("bad xray", bad.status_code)
        status, _ = await status_of(assistants.get_graph("00000000-0000-0000-0000-000000000000"))
        seen.add("graph of a missing assistant", status)

    await same_on_both(targets, scenario)
