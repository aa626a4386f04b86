/**
 * The scripted zero-latency model of `bench:coach`, in a process of its own as a model server
 * is (it would otherwise take event-loop time from the job it serves): an OpenAI-protocol
 * server (test/fakes/llm) that answers at once from the facts it is sent — numbers copied, as
 * a good model does — with the message and a drafted post for each slot action. Prints
 * `{"url": ...}` once listening; ends when its parent closes stdin.
 */
import { startFakeLlm } from '../test/fakes/llm/index.js';

const llm = await startFakeLlm({
  openai: (req) => {
    const f = JSON.parse(req.lastUserText.replace(/^FACTS:\n/, '')) as {
      yesterday: { posts: number; engagements: number };
      streakDays: number;
      actions: string[];
      insight: string;
      draftFor: number[];
    };
    const lines = [
      `Good morning! Yesterday: ${f.yesterday.posts} post, ${f.yesterday.engagements} engagements; ${f.streakDays} days in a row.`,
      ...f.actions.map((a, i) => `${i + 1}. ${a}`),
      f.insight,
      ...f.draftFor.map((n) => `DRAFT ${n}: What we learned this week, and what we are trying next.`),
    ];
    return { text: lines.join('\n'), usage: { input: 300, output: 80 } };
  },
});
process.stdout.write(`${JSON.stringify({ url: llm.openaiUrl })}\n`);
process.stdin.resume();
process.stdin.on('end', () => void llm.close().then(() => process.exit(0)));
