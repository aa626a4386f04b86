/**
 * Chat with Herald over the WebSocket: the reply streams token by token, tool calls show as
 * they start and end, and a `confirm_request` is a card with the exact action, its details
 * and its expiry in the user's zone, answered with Approve or Reject. A viewer sees the card
 * without Approve (the action would be refused). The thread goes on until "New conversation".
 * "Talk" starts a voice session in the same thread (web/src/voice.ts): what Herald heard shows
 * as it is transcribed, each spoken turn joins the conversation like a typed one, and the
 * answer is both written and spoken.
 */
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { ChatSocket, type ServerEvent, type SocketState } from '../chat-socket.ts';
import { can, useSession } from '../session.tsx';
import { formatTime } from '../ui.tsx';
import { VoiceSession, type VoiceStatus } from '../voice.ts';

interface Confirm {
  requestId: string;
  summary: string;
  details: unknown;
  expiresAt: string;
  outcome?: string;
}
interface Tool {
  id: string;
  name: string;
  ok?: boolean;
  error?: string;
}
interface Turn {
  key: string;
  userText: string;
  turnId?: string;
  text: string;
  tools: Tool[];
  confirms: Confirm[];
  end?: { reason: string; error?: string };
}

let counter = 0;
const newId = () => `c-${Date.now().toString(36)}-${(counter++).toString(36)}`;

export function ChatPage() {
  const session = useSession();
  const socketRef = useRef<ChatSocket | null>(null);
  const [state, setState] = useState<SocketState>('connecting');
  const [turns, setTurns] = useState<Turn[]>([]);
  const [threadId, setThreadId] = useState<string | undefined>(undefined);
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const logRef = useRef<HTMLDivElement>(null);
  const voiceRef = useRef<VoiceSession | null>(null);
  const [voice, setVoice] = useState<VoiceStatus | null>(null);
  const [heard, setHeard] = useState<string>('');

  useEffect(() => {
    const socket = new ChatSocket();
    socketRef.current = socket;
    socket.onState(setState);
    socket.on((e: ServerEvent) => {
      if (e.type === 'error') {
        setError((e.error as { message: string }).message);
        return;
      }
      if (e.type === 'ack') {
        setTurns((ts) => ts.map((t) => (t.key === e.id ? { ...t, turnId: e.turnId as string } : t)));
        return;
      }
      if (e.type === 'transcript') {
        const said = (e.turnText as string | undefined) ?? (e.text as string);
        setHeard(said);
        // A spoken turn: Herald answers it, and its message_start names the utterance.
        if (e.final === true && e.use === 'turn' && said)
          setTurns((ts) => [
            ...ts,
            { key: e.utteranceId as string, userText: said, text: '', tools: [], confirms: [] },
          ]);
        return;
      }
      if (e.type === 'message_start' && e.clientMessageId) {
        setTurns((ts) =>
          ts.map((t) => (t.key === e.clientMessageId && !t.turnId ? { ...t, turnId: e.turnId as string } : t)),
        );
      }
      if (e.type === 'message_start') setThreadId(e.threadId as string);
      if (!e.turnId) return;
      setTurns((ts) => ts.map((t) => (t.turnId === e.turnId ? apply(t, e) : t)));
    });
    return () => {
      void voiceRef.current?.stop();
      voiceRef.current = null;
      socket.close();
    };
  }, []);

  const toggleVoice = async () => {
    setError(null);
    if (voiceRef.current) {
      const v = voiceRef.current;
      voiceRef.current = null;
      setVoice(null);
      await v.stop();
      return;
    }
    try {
      setVoice({ state: 'starting', playedMs: 0 });
      voiceRef.current = await VoiceSession.start(socketRef.current!, { threadId, onStatus: setVoice });
    } catch (err) {
      setVoice(null);
      setError(`The microphone could not be used: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  useEffect(() => {
    logRef.current?.scrollTo({ top: logRef.current.scrollHeight });
  }, [turns]);

  const send = (e: FormEvent) => {
    e.preventDefault();
    const msg = text.trim();
    if (!msg) return;
    const id = newId();
    setTurns((ts) => [...ts, { key: id, userText: msg, text: '', tools: [], confirms: [] }]);
    socketRef.current?.send({ type: 'user_message', id, text: msg, ...(threadId ? { threadId } : {}) });
    setText('');
    setError(null);
  };

  const answer = (turnId: string, requestId: string, approve: boolean) =>
    socketRef.current?.send(approve ? { type: 'confirm', turnId, requestId } : { type: 'reject', turnId, requestId });

  return (
    <>
      <h1>Chat with Herald</h1>
      <p className="row">
        <span data-testid="socket-state">
          {state === 'open' ? 'Connected' : state === 'connecting' ? 'Connecting…' : 'Reconnecting…'}
        </span>
        <button
          type="button"
          className="secondary"
          onClick={() => {
            setThreadId(undefined);
            setTurns([]);
          }}
        >
          New conversation
        </button>
      </p>
      <div className="chat-log" ref={logRef} role="log" aria-live="polite" aria-label="Conversation">
        {turns.map((t) => (
          <div key={t.key} className="turn">
            <div className="msg user">{t.userText}</div>
            {t.tools.map((tool) => (
              <div key={tool.id} className="tool">
                {tool.ok === undefined ? '⏳' : tool.ok ? '✓' : '✗'} {tool.name}
                {tool.error && `: ${tool.error}`}
              </div>
            ))}
            {t.confirms.map((c) => (
              <div key={c.requestId} className="confirm" role="group" aria-label="Confirmation">
                <strong>{c.summary}</strong>
                {c.details != null && <pre>{JSON.stringify(c.details, null, 2)}</pre>}
                <p>Waiting until {formatTime(c.expiresAt, session.timeZone)}</p>
                {c.outcome ? (
                  <p data-testid="confirm-outcome">{c.outcome}</p>
                ) : (
                  <div className="row">
                    {can(session.workspace.role, 'editor') && (
                      <button type="button" onClick={() => answer(t.turnId!, c.requestId, true)}>
                        Approve
                      </button>
                    )}
                    <button type="button" className="danger" onClick={() => answer(t.turnId!, c.requestId, false)}>
                      Reject
                    </button>
                  </div>
                )}
              </div>
            ))}
            {(t.text || !t.end) && (
              <div className="msg assistant" data-testid="assistant-message">
                {t.text || '…'}
              </div>
            )}
            {t.end && t.end.reason !== 'done' && (
              <div className="error" role="alert">
                {t.end.reason}
                {t.end.error && `: ${t.end.error}`}
              </div>
            )}
          </div>
        ))}
      </div>
      {error && (
        <div className="error" role="alert">
          {error}
        </div>
      )}
      <form className="row" onSubmit={send}>
        <label style={{ flex: 1 }}>
          Message
          <textarea
            rows={2}
            value={text}
            onChange={(e) => setText(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && !e.shiftKey) send(e);
            }}
          />
        </label>
        <div className="actions">
          <button type="submit" disabled={state !== 'open'}>
            Send
          </button>
          <button
            type="button"
            className="secondary"
            aria-pressed={voice !== null}
            disabled={state !== 'open' && voice === null}
            onClick={() => void toggleVoice()}
          >
            {voice ? 'Stop talking' : 'Talk'}
          </button>
        </div>
      </form>
      {voice && (
        <p className="muted" role="status" aria-live="polite">
          <span data-testid="voice-state" data-played-ms={Math.round(voice.playedMs)}>
            {voice.state === 'starting'
              ? 'Starting the microphone…'
              : voice.state === 'speaking'
                ? 'Herald is speaking (talk to interrupt)'
                : 'Listening'}
          </span>
          {heard && (
            <>
              {' '}
              · heard: <q data-testid="voice-transcript">{heard}</q>
            </>
          )}
        </p>
      )}
    </>
  );
}

/** One turn event applied to the turn it belongs to. */
function apply(t: Turn, e: ServerEvent): Turn {
  switch (e.type) {
    case 'token':
      return { ...t, text: t.text + (e.text as string) };
    case 'tool_start':
      return { ...t, tools: [...t.tools, { id: e.toolCallId as string, name: e.name as string }] };
    case 'tool_end':
      return {
        ...t,
        tools: t.tools.map((x) =>
          x.id === e.toolCallId
            ? { ...x, ok: e.ok as boolean, ...(e.error ? { error: (e.error as { message: string }).message } : {}) }
            : x,
        ),
      };
    case 'confirm_request': {
      const action = e.action as { summary: string; details?: unknown };
      const c: Confirm = {
        requestId: e.requestId as string,
        summary: action.summary,
        details: action.details,
        expiresAt: e.expiresAt as string,
      };
      return { ...t, confirms: [...t.confirms, c] };
    }
    case 'confirm_result':
      return {
        ...t,
        confirms: t.confirms.map((c) => (c.requestId === e.requestId ? { ...c, outcome: e.outcome as string } : c)),
      };
    case 'message_end': {
      const err = e.error as { message: string } | undefined;
      return { ...t, end: { reason: e.reason as string, ...(err ? { error: err.message } : {}) } };
    }
    default:
      return t;
  }
}
