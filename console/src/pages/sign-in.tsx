import { useState } from 'preact/hooks';

import { S3CallError, signIn } from '../api';

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
      setError(err instanceof S3CallError ? `${err.code}: ${err.message}` : (err as Error).message);
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
