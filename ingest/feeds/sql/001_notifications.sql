-- Notification feed for the mobile app: a Supabase project's database (plain PostgreSQL works
-- too). Idempotent: ingest applies it at start-up; run it by hand with psql as well.
--
-- Row-level security: app users (role `authenticated`, as PostgREST/Supabase sets it) read only
-- the notifications of gateways listed for them in gateway_members. The user id comes from the
-- JWT's `sub` claim, as Supabase's auth.uid() reads it. The ingest service writes as the
-- table owner (or Supabase's service role), which RLS does not restrict.

CREATE TABLE IF NOT EXISTS public.notifications (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ts timestamptz NOT NULL,
    gateway_id text NOT NULL,
    node_id text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('label_drop', 'out_of_band', 'silent')),
    severity text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    message text NOT NULL,
    value double precision,
    reading_id text,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS notifications_gateway_seq ON public.notifications (gateway_id, seq);

CREATE TABLE IF NOT EXISTS public.gateway_members (
    user_id text NOT NULL,
    gateway_id text NOT NULL,
    PRIMARY KEY (user_id, gateway_id)
);

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
        CREATE ROLE authenticated NOLOGIN;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO authenticated;
GRANT SELECT ON public.notifications TO authenticated;
GRANT SELECT ON public.gateway_members TO authenticated;

ALTER TABLE public.notifications ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.gateway_members ENABLE ROW LEVEL SECURITY;

DO $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_policies
        WHERE schemaname = 'public' AND tablename = 'notifications'
          AND policyname = 'members read their gateways'
    ) THEN
        CREATE POLICY "members read their gateways" ON public.notifications
            FOR SELECT TO authenticated
            USING (gateway_id IN (
                SELECT m.gateway_id FROM public.gateway_members m
                WHERE m.user_id = current_setting('request.jwt.claims', true)::json ->> 'sub'
            ));
    END IF;
    IF NOT EXISTS (
        SELECT 1 FROM pg_policies
        WHERE schemaname = 'public' AND tablename = 'gateway_members'
          AND policyname = 'members read their memberships'
    ) THEN
        CREATE POLICY "members read their memberships" ON public.gateway_members
            FOR SELECT TO authenticated
            USING (user_id = current_setting('request.jwt.claims', true)::json ->> 'sub');
    END IF;
END
$$;
