// An AI SDK agent with the default OpenAI provider (the Responses API, store on):
// a multi-step tool run, then a second turn over the messages the first one returned.
// Usage: node ai_sdk_agent.mjs <base_url> <model> <prompt> <follow_up> [stream]
import { generateText, jsonSchema, stepCountIs, streamText, tool } from "ai";
import { createOpenAI } from "@ai-sdk/openai";

const [baseURL, modelId, prompt, followUp, mode] = process.argv.slice(2);
const openai = createOpenAI({ baseURL, apiKey: process.env.WRAPPER_API_KEY });
const model = openai(modelId);

const tools = {
  get_weather: tool({
    description: "The weather in a city",
    inputSchema: jsonSchema({
      type: "object",
      properties: { city: { type: "string" } },
      required: ["city"],
      additionalProperties: false,
    }),
    execute: async ({ city }) => `sunny in ${city}`,
  }),
};

async function run(messages) {
  const options = { model, tools, messages, stopWhen: stepCountIs(5), maxRetries: 0 };
  if (mode === "stream") {
    const result = streamText(options);
    const text = await result.text;
    return { text, steps: (await result.steps).length, response: await result.response };
  }
  const result = await generateText(options);
  return { text: result.text, steps: result.steps.length, response: result.response };
}

const history = [{ role: "user", content: prompt }];
const first = await run(history);
history.push(...first.response.messages, { role: "user", content: followUp });
const second = await run(history);
console.log(
  JSON.stringify({
    first: { text: first.text, steps: first.steps },
    second: { text: second.text, steps: second.steps },
  }),
);
