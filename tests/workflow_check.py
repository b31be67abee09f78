"""Checks and converts UI-format workflows against node schemas (``tools.workflow_schema``): the validator of
the example workflows and the UI -> API conversion that the frontend's graphToPrompt does."""
from __future__ import annotations

import re

from tools.workflow_schema import (FRONTEND_ONLY, combo_choices, input_options, input_type, is_widget, node_inputs,
                                   widget_layout)

CONTROL_VALUES = ("fixed", "increment", "decrement", "randomize")
FILE_NAME = re.compile(r"\.(safetensors|sft|ckpt|pt|pth|bin|gguf|png|jpe?g|webp)$", re.IGNORECASE)


def types_match(output_type: str, input_type_: str) -> bool:
    """As the frontend: "*" matches anything, "A,B" lists alternatives."""
    if output_type == "*" or input_type_ == "*":
        return True
    return bool(set(output_type.split(",")) & set(input_type_.split(",")))


def validate_workflow(workflow: dict, object_info: dict) -> list[str]:
    """Every problem found in a UI-format workflow (empty list = valid)."""
    problems = []
    for key in ("last_node_id", "last_link_id", "nodes", "links", "version"):
        if key not in workflow:
            problems.append(f"missing top-level key {key!r}")
    if problems:
        return problems
    nodes = {}
    for node in workflow["nodes"]:
        if node["id"] in nodes:
            problems.append(f"duplicate node id {node['id']}")
        nodes[node["id"]] = node
        for key in ("id", "type", "pos", "size", "flags", "order", "mode", "properties"):
            if key not in node:
                problems.append(f"node {node.get('id')}: missing {key!r}")
    if nodes and max(nodes) > workflow["last_node_id"]:
        problems.append(f"last_node_id {workflow['last_node_id']} < largest node id {max(nodes)}")
    links = {}
    for link in workflow["links"]:
        if len(link) != 6:
            problems.append(f"link {link}: expected [id, src, src_slot, dst, dst_slot, type]")
            continue
        if link[0] in links:
            problems.append(f"duplicate link id {link[0]}")
        links[link[0]] = link
    if links and max(links) > workflow["last_link_id"]:
        problems.append(f"last_link_id {workflow['last_link_id']} < largest link id {max(links)}")
    orders = sorted(node["order"] for node in nodes.values())
    if orders != list(range(len(nodes))):
        problems.append(f"node 'order' values must be 0..{len(nodes) - 1}, got {orders}")

    for node in nodes.values():
        where = f"node {node['id']} ({node['type']})"
        if node["type"] in FRONTEND_ONLY:
            if node.get("inputs") or node.get("outputs"):
                problems.append(f"{where}: a note has no inputs/outputs")
        elif node["type"] not in object_info:
            problems.append(f"{where}: unknown node type")
            continue
        problems += [f"{where}: {p}" for p in _check_widgets(node, object_info)]
        if node["type"] not in FRONTEND_ONLY:
            problems += [f"{where}: {p}" for p in _check_sockets(node, object_info[node["type"]], links)]

    for link_id, (_, src, src_slot, dst, dst_slot, link_type) in links.items():
        where = f"link {link_id} ({src}:{src_slot} -> {dst}:{dst_slot})"
        if src not in nodes or dst not in nodes:
            problems.append(f"{where}: unknown node")
            continue
        src_node, dst_node = nodes[src], nodes[dst]
        src_info, dst_info = object_info.get(src_node["type"]), object_info.get(dst_node["type"])
        if src_info is None or dst_info is None:
            problems.append(f"{where}: joins a node without sockets")
            continue
        if src_slot >= len(src_info["output"]):
            problems.append(f"{where}: {src_node['type']} has no output {src_slot}")
            continue
        out_type = src_info["output"][src_slot]
        outputs = src_node.get("outputs") or []
        if src_slot >= len(outputs) or link_id not in (outputs[src_slot].get("links") or []):
            problems.append(f"{where}: not listed in the source node's outputs[{src_slot}].links")
        inputs = dst_node.get("inputs") or []
        if dst_slot >= len(inputs) or inputs[dst_slot].get("link") != link_id:
            problems.append(f"{where}: the target node's inputs[{dst_slot}].link is not {link_id}")
            continue
        name = inputs[dst_slot]["name"]
        specs = {n: s for n, s, _ in node_inputs(dst_info)}
        if name not in specs:
            problems.append(f"{where}: {dst_node['type']} has no input {name!r}")
            continue
        in_type = input_type(specs[name])
        if not types_match(out_type, in_type):
            problems.append(f"{where}: {src_node['type']} output {out_type} does not fit "
                            f"{dst_node['type']}.{name} ({in_type})")
        if link_type not in (out_type, "*") and not types_match(link_type, in_type):
            problems.append(f"{where}: link type {link_type} differs from the output type {out_type}")
    return problems


def _check_sockets(node: dict, info: dict, links: dict) -> list[str]:
    problems = []
    specs = {name: (spec, required) for name, spec, required in node_inputs(info)}
    linked = set()
    for index, entry in enumerate(node.get("inputs") or []):
        name = entry.get("name")
        if name not in specs:
            problems.append(f"inputs[{index}]: {node['type']} has no input {name!r}")
            continue
        declared, actual = entry.get("type"), input_type(specs[name][0])
        if declared != actual and not (actual == "COMBO" and declared in ("COMBO", "*")):
            problems.append(f"inputs[{index}] {name!r}: type {declared} differs from the schema's {actual}")
        if entry.get("link") is not None:
            if entry["link"] not in links:
                problems.append(f"inputs[{index}] {name!r}: link {entry['link']} does not exist")
            linked.add(name)
    for name, (spec, required) in specs.items():
        if required and not is_widget(spec) and name not in linked:
            problems.append(f"required input {name!r} ({input_type(spec)}) is not connected")
    outputs = node.get("outputs") or []
    if len(outputs) > len(info["output"]):  # fewer is fine: a newer release added outputs, the frontend adds them
        problems.append(f"{len(outputs)} outputs listed, the schema has {len(info['output'])}")
    for index, (entry, out_type) in enumerate(zip(outputs, info["output"])):
        if entry.get("type") != out_type:
            problems.append(f"outputs[{index}]: type {entry.get('type')} differs from the schema's {out_type}")
        for link_id in entry.get("links") or []:
            if link_id not in links or links[link_id][1] != node["id"] or links[link_id][2] != index:
                problems.append(f"outputs[{index}]: link {link_id} does not start here")
    return problems


def _check_widgets(node: dict, object_info: dict) -> list[str]:
    layout = widget_layout(node["type"], object_info)
    values = node.get("widgets_values", [])
    if isinstance(values, dict):
        return ["widgets_values as a dict is not supported here (use the positional list)"]
    if len(values) != len(layout):
        return [f"widgets_values has {len(values)} entries, expected {len(layout)}: "
                f"{[n + ('' if k is None else ':' + k) for n, k in layout]}"]
    if node["type"] in FRONTEND_ONLY:
        return [] if all(isinstance(v, str) for v in values) else ["note text must be a string"]
    problems = []
    specs = {name: spec for name, spec, _ in node_inputs(object_info[node["type"]])}
    for (name, extra), value in zip(layout, values):
        spec = specs[name]
        if extra == "control":
            if value not in CONTROL_VALUES:
                problems.append(f"{name}: control_after_generate value {value!r} not in {CONTROL_VALUES}")
            continue
        if extra == "upload":
            continue
        problems += [f"{name}: {p}" for p in _check_value(spec, value)]
    return problems


def _check_value(spec, value) -> list[str]:
    kind, options = input_type(spec), input_options(spec)
    if kind in ("INT", "FLOAT"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                (kind == "INT" and not float(value).is_integer()):
            return [f"{value!r} is not a {kind}"]
        if "min" in options and value < options["min"] or "max" in options and value > options["max"]:
            return [f"{value} outside [{options.get('min')}, {options.get('max')}]"]
    elif kind == "STRING" and not isinstance(value, str):
        return [f"{value!r} is not a string"]
    elif kind == "BOOLEAN" and not isinstance(value, bool):
        return [f"{value!r} is not a boolean"]
    elif kind == "COMBO":
        choices = combo_choices(spec)
        # file lists (checkpoints, VAEs, images, ...) are machine-specific in a schema dump
        if choices and not FILE_NAME.search(str(value)) and value not in choices:
            return [f"{value!r} not among {choices}"]
    return []


def ui_to_api(workflow: dict, object_info: dict) -> dict:
    """The API prompt that the frontend's graphToPrompt would send for a plain workflow (no groups nodes,
    subgraphs, reroutes or primitive nodes; muted/bypassed nodes are not supported)."""
    links = {link[0]: link for link in workflow["links"]}
    prompt = {}
    for node in workflow["nodes"]:
        if node["type"] in FRONTEND_ONLY:
            continue
        if node.get("mode", 0) != 0:
            raise NotImplementedError(f"node {node['id']}: mode {node['mode']} (muted/bypassed) not supported")
        info = object_info[node["type"]]
        inputs = {}
        values = iter(node.get("widgets_values") or [])
        for name, extra in widget_layout(node["type"], object_info):
            value = next(values)
            if extra is None:
                inputs[name] = value
        for entry in node.get("inputs") or []:
            if entry.get("link") is not None:
                _, src, src_slot, *_ = links[entry["link"]]
                inputs[entry["name"]] = [str(src), src_slot]
        known = {name for name, _, _ in node_inputs(info)}
        assert set(inputs) <= known, (node["type"], set(inputs) - known)
        prompt[str(node["id"])] = {"class_type": node["type"], "inputs": inputs,
                                   "_meta": {"title": node.get("title") or info.get("display_name")
                                             or node["type"]}}
    return prompt
