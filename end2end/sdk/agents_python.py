"""The OpenAI Agents SDK (PyPI `openai-agents`) against LangMart: its default model (the
Responses API) with a function tool, whole and streamed, through a native OpenAI connection
and a Groq connection translated to chat. `MultiProvider(openai_prefix_mode="model_id",
unknown_prefix_mode="model_id")` passes `provider/model` strings to LangMart unchanged
(the README says why). Prints `N passed, N failed`; exits non-zero on any failure."""

import asyncio
import os
import sys
import traceback

from agents import Agent, RunConfig, Runner, function_tool, set_tracing_disabled
from agents.models.multi_provider import MultiProvider
from openai import AsyncOpenAI

set_tracing_disabled(True)
client = AsyncOpenAI(base_url=os.environ["LANGMART_BASE"] + "/v1", api_key=os.environ["LANGMART_KEY"], max_retries=0)
run_config = RunConfig(model_provider=MultiProvider(openai_client=client, openai_prefix_mode="model_id",
                                                    unknown_prefix_mode="model_id"))
cities = []


@function_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    cities.append(city)
    return "21°C"


passed, failed = 0, 0


async def check(name, fn):
    global passed, failed
    try:
        await fn()
        passed += 1
        print(f"ok   agents: {name}")
    except Exception:  # noqa: BLE001 - report every failure and go on
        failed += 1
        print(f"FAIL agents: {name}")
        traceback.print_exc()


def agent(model):
    return Agent(name="weather", instructions="Answer with the weather tool.", tools=[get_weather], model=model)


async def main():
    for model in ("openai/mock-large", "groq/mock-large"):
        async def run(model=model):
            cities.clear()
            result = await Runner.run(agent(model), "Weather in Paris?", run_config=run_config)
            assert cities == ["Paris"], cities
            assert result.final_output == "Done: 21°C", result.final_output

        async def streamed(model=model):
            cities.clear()
            result = Runner.run_streamed(agent(model), "Weather in Paris?", run_config=run_config)
            kinds = [e.type async for e in result.stream_events()]
            assert "raw_response_event" in kinds, kinds
            assert cities == ["Paris"] and result.final_output == "Done: 21°C", (cities, result.final_output)

        await check(f"function tool, {model}", run)
        await check(f"function tool, streamed, {model}", streamed)


asyncio.run(main())
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
