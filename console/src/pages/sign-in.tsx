import { useState } from 'preact/hooks';

import { signIn } from '../api';
import { describe } from '../errors';

export function SignIn(props: { onSignedIn: (accessKey: string) => void }) {
  const [accessKey, setAccessKey] = useState('');
  const [secretKey, setSecretKey] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      const s = await signIn(accessKey, secretKey);
      props.onSignedIn(s.accessKey);
    } catch (err) {
      setError(describe(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="sign-in">
      <form onSubmit={submit} class="card">
        <h1>Kintsugi</h1>
        <p class="muted">Sign in with an access key and its secret.</p>
        <label>Access key<input name="accessKey" autocomplete="username" value={accessKey} onInput={(e) => setAccessKey(e.currentTarget.value)} required /></label>
        <label>Secret key<input name="secretKey" type="password" autocomplete="current-password" value={secretKey} onInput={(e) => setSecretKey(e.currentTarget.value)} required /></label>
        {error && <p class="error" role="alert">{error}</p>}
        <button type="submit" disabled={busy}>Sign in</button>
      </form>
    </main>
  );
}
