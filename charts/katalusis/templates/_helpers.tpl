{{- define "katalusis.fullname" -}}
{{- printf "%s-katalusis" .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- define "katalusis.labels" -}}
app.kubernetes.io/name: katalusis
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "katalusis.apiName" -}}
{{ include "katalusis.fullname" . }}-api
{{- end -}}

{{- define "katalusis.operatorName" -}}
{{ include "katalusis.fullname" . }}-operator
{{- end -}}

{{- define "katalusis.secretName" -}}
{{- if .Values.secrets.existingSecret -}}
{{ .Values.secrets.existingSecret }}
{{- else -}}
{{ include "katalusis.fullname" . }}-secrets
{{- end -}}
{{- end -}}

{{- define "katalusis.image" -}}
{{ printf "%s:%s" .repository .tag }}
{{- end -}}

{{- define "katalusis.containerSecurityContext" -}}
runAsNonRoot: true
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
privileged: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}
