import { Navigate, useNavigate, useSearchParams } from "react-router";
import { useSession } from "@/shared/api";
import { landingPath } from "@/shared/config";
import { LoginForm } from "@/features/login";
import { Logo } from "@/widgets/app-shell";

export function LoginPage() {
  const user = useSession((s) => s.user);
  const navigate = useNavigate();
  const [params] = useSearchParams();
  if (user) return <Navigate to={landingPath[user.role]} replace />;
  return (
    <div className="grid min-h-full place-items-center bg-gradient-to-b from-slate-50 to-indigo-50/60 p-6">
      <div className="w-full max-w-sm">
        <div className="mb-6 flex justify-center">
          <Logo />
        </div>
        <div className="rounded-xl bg-white p-6 shadow-lg ring-1 ring-slate-200">
          <h1 className="mb-1 text-lg font-semibold">Sign in</h1>
          <p className="mb-5 text-sm text-slate-500">
            Use the account your administrator created for you.
          </p>
          <LoginForm
            onSignedIn={(u) => {
              const next = params.get("next");
              // Only follow `next` into the signed-in role's own area.
              const target =
                next && next.startsWith(landingPath[u.role]) ? next : landingPath[u.role];
              navigate(target, { replace: true });
            }}
          />
        </div>
      </div>
    </div>
  );
}
