/**
 * An account's weekly posting slots (what "add to queue" fills), on the Accounts page: the
 * current ones, a schedule suggested from the account's best hours (with how sure Herald is
 * and why), and saving either. Editors and above see the controls; the server checks again.
 */
import { useCallback, useEffect, useState } from 'react';
import { api } from '../api.ts';
import { ErrorBox } from '../ui.tsx';
import type { Account } from './Accounts.tsx';

const DAYS = ['', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

interface Slot {
  weekday: number;
  time: string;
}
interface Suggestion {
  timeZone: string;
  basis: string;
  reason: string;
  slots: Array<Slot & { liftPct: number }>;
}

const slotText = (s: Slot) => `${DAYS[s.weekday]} ${s.time}`;

export function SlotsEditor(props: { account: Account; canEdit: boolean }) {
  const { account } = props;
  const [slots, setSlots] = useState<Slot[]>([]);
  const [zone, setZone] = useState<string | null>(null);
  const [perWeek, setPerWeek] = useState(7);
  const [suggestion, setSuggestion] = useState<Suggestion | null>(null);
  const [saved, setSaved] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const load = useCallback(async () => {
    try {
      const r = await api.get<{ items: Array<Slot & { timeZone: string }> }>(`/v1/social-accounts/${account.id}/slots`);
      setSlots(r.items.map(({ weekday, time }) => ({ weekday, time })));
      setZone(r.items[0]?.timeZone ?? null);
    } catch (err) {
      setError(err);
    }
  }, [account.id]);
  useEffect(() => void load(), [load]);

  const suggest = async () => {
    setError(null);
    setSaved(false);
    try {
      setSuggestion(
        await api.get<Suggestion>(`/v1/analytics/accounts/${account.id}/suggested-slots?perWeek=${perWeek}`),
      );
    } catch (err) {
      setError(err);
    }
  };

  const apply = async () => {
    if (!suggestion) return;
    setError(null);
    try {
      await api.put(`/v1/social-accounts/${account.id}/slots`, {
        timeZone: suggestion.timeZone,
        slots: suggestion.slots.map(({ weekday, time }) => ({ weekday, time })),
      });
      setSuggestion(null);
      setSaved(true);
      await load();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <div className="slots" aria-label={`Posting slots of ${account.handle}`}>
      <ErrorBox error={error} />
      <p data-testid="slots">
        Posting slots: {slots.length === 0 ? 'none' : `${slots.map(slotText).join(', ')}${zone ? ` (${zone})` : ''}`}
        {saved && <span role="status"> — saved</span>}
      </p>
      {props.canEdit && (
        <div className="row">
          <label>
            Slots a week
            <input
              type="number"
              min={1}
              max={28}
              value={perWeek}
              onChange={(e) => setPerWeek(Number(e.target.value))}
            />
          </label>
          <button type="button" onClick={() => void suggest()}>
            Suggest from best hours
          </button>
        </div>
      )}
      {suggestion && (
        <div className="suggestion" data-testid="suggested-slots">
          <p>
            {suggestion.slots.map((s) => `${slotText(s)} (${s.liftPct >= 0 ? '+' : ''}${s.liftPct}%)`).join(', ')} (
            {suggestion.timeZone})
          </p>
          <p className="muted">{suggestion.reason}</p>
          <button type="button" onClick={() => void apply()}>
            Use these slots
          </button>{' '}
          <button type="button" onClick={() => setSuggestion(null)}>
            Keep mine
          </button>
        </div>
      )}
    </div>
  );
}
